//! A session's API tokens: made, revoked, looked up by their text, and their last
//! use noted (see `store::tokens` for what keeps them honest).

use anyhow::Result;
use serde_json::json;

use super::super::engine::TokenRow;
use super::super::tokens::{self, Token};
use super::Session;
use crate::domain::integrity::Tag;
use crate::domain::tokens::{Scopes, new_token_text};

impl<'s> Session<'s> {
    /// Every token, checked.
    pub fn tokens(&self) -> Result<Vec<Token>> {
        let mut tx = self.tx();
        Ok(tokens::load(&mut **tx, &self.keys, &self.path)?
            .into_iter()
            .map(|(t, _)| t)
            .collect())
    }

    /// The token whose text is `presented`, checked; `None` when there is none. The
    /// tokens are read and checked once per transaction.
    pub fn authenticate(&self, presented: &str) -> Result<Option<Token>> {
        let hash = self.vault.hash_token(presented);
        let mut cache = self.checked_tokens.borrow_mut();
        if cache.is_none() {
            let mut tx = self.tx();
            *cache = Some(tokens::load(&mut **tx, &self.keys, &self.path)?);
        }
        Ok(tokens::find_by_hash(
            cache.as_deref().unwrap_or_default(),
            &hash,
        ))
    }

    /// Makes a token and returns its text, which is stored nowhere: `None` when a
    /// token of that name exists. The name and scopes are checked by the caller.
    pub fn add_token(
        &mut self,
        name: &str,
        scopes: Scopes,
        expires_at: Option<String>,
    ) -> Result<Option<String>> {
        // The tokens there must be the ones their last change left: a new one must
        // not vouch for a token put back behind the key's back.
        {
            let mut tx = self.tx();
            tokens::load(&mut **tx, &self.keys, &self.path)?;
        }
        let mut random = zeroize::Zeroizing::new([0u8; 32]);
        getrandom::fill(random.as_mut())
            .map_err(|e| anyhow::anyhow!("the operating system's random source failed: {e}"))?;
        let text = new_token_text(&random);
        self.checked_tokens.get_mut().take();
        let mut row = TokenRow {
            name: name.to_string(),
            hash: self.vault.hash_token(&text).to_vec(),
            scopes: scopes.to_string(),
            created_at: self.now.clone(),
            expires_at,
            last_used_at: None,
            mac: Vec::new(),
        };
        row.mac = self.keys.token_mac(&tokens::row_digest(&row)).to_vec();
        if !self.tx().insert_token(&row)? {
            return Ok(None);
        }
        let set = self.set_digest()?;
        let scopes: Vec<&str> = scopes.iter().map(|s| s.as_str()).collect();
        self.event_with_state(
            "token_created",
            None,
            None,
            &json!({ "token": name, "scopes": scopes, "expiresAt": row.expires_at }).to_string(),
            Some(&set),
        )?;
        self.written.get_mut().tokens(set);
        Ok(Some(text))
    }

    /// Revokes (deletes) a token; `false` when there is none of that name. A token
    /// put there without the key (one with no MAC, or one put back after it was
    /// revoked) can be revoked too, when it is all that is wrong: that is how one is
    /// got rid of.
    pub fn revoke_token(&mut self, name: &str) -> Result<bool> {
        self.checked_tokens.get_mut().take();
        let before = {
            let mut tx = self.tx();
            tokens::load(&mut **tx, &self.keys, &self.path).map(drop)
        };
        if !self.tx().delete_token(name)? {
            before?;
            return Ok(false);
        }
        let set = self.set_digest()?;
        if let Err(problem) = before {
            let recorded = {
                let mut tx = self.tx();
                tokens::recorded(&mut **tx, &self.keys, &self.path)?
            };
            let mended = match recorded {
                Some((_, state)) => state == set,
                None => self.tx().tokens()?.is_empty(),
            };
            if !mended {
                return Err(problem);
            }
        }
        self.event_with_state(
            "token_revoked",
            None,
            None,
            &json!({ "token": name }).to_string(),
            Some(&set),
        )?;
        self.written.get_mut().tokens(set);
        Ok(true)
    }

    /// Notes a token's last use: `minute` is now, to the minute.
    pub fn touch_token(&mut self, name: &str, minute: &str) -> Result<()> {
        self.tx().touch_token(name, minute)?;
        for (t, _) in self.checked_tokens.get_mut().iter_mut().flatten() {
            if t.name == name {
                t.last_used_at = Some(minute.to_string());
            }
        }
        Ok(())
    }

    /// The digest of the set of tokens as the transaction holds them, every MAC
    /// checked.
    fn set_digest(&self) -> Result<Tag> {
        let rows = self.tx().tokens()?;
        tokens::set_digest(&rows, &self.keys).map_err(|name| {
            crate::base::error::integrity_error(format!(
                "the API token {:?} of {} does not carry this store's MAC: revoke it first",
                crate::base::text::sanitize(&name),
                self.path.display()
            ))
        })
    }
}
