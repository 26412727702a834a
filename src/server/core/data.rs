//! The made-up data behind the protected API: items, notifications and usage per user.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use crate::api::resources::{Item, Notification};

#[derive(Default)]
struct Tables {
    items: HashMap<String, Vec<Item>>,
    requests: HashMap<String, u64>,
    next_item_id: u64,
}

/// In-memory demo data, seeded per user on first use.
#[derive(Default)]
pub struct DemoData {
    tables: Mutex<Tables>,
}

/// Items one user may keep, so no account can grow the server's memory without bound.
pub const MAX_ITEMS_PER_USER: usize = 100;

impl DemoData {
    /// The user's items, seeded with three examples on first use.
    pub fn items(&self, user_id: &str) -> Vec<Item> {
        let mut tables = self.lock();
        Self::seeded(&mut tables, user_id).clone()
    }

    /// Adds an item; `None` when the user already has [`MAX_ITEMS_PER_USER`].
    pub fn add_item(&self, user_id: &str, title: String) -> Option<Item> {
        let mut tables = self.lock();
        if Self::seeded(&mut tables, user_id).len() >= MAX_ITEMS_PER_USER {
            return None;
        }
        tables.next_item_id += 1;
        let item = Item {
            id: tables.next_item_id,
            title,
        };
        tables
            .items
            .entry(user_id.to_owned())
            .or_default()
            .push(item.clone());
        Some(item)
    }

    /// Three fixed notifications, the first greeting `username`; nothing is stored.
    pub fn notifications(&self, username: &str) -> Vec<Notification> {
        let texts = [
            (format!("Welcome back, {username}."), true),
            (
                "Your access token lives for a minute; watch it refresh.".to_owned(),
                true,
            ),
            (
                "Try “Expire access token”, then “Burst requests”.".to_owned(),
                false,
            ),
        ];
        texts
            .into_iter()
            .zip(1..)
            .map(|((text, unread), id)| Notification { id, text, unread })
            .collect()
    }

    /// Counts a protected request and returns the user's total.
    pub fn count_request(&self, user_id: &str) -> u64 {
        let mut tables = self.lock();
        let count = tables.requests.entry(user_id.to_owned()).or_default();
        *count += 1;
        *count
    }

    fn seeded<'a>(tables: &'a mut Tables, user_id: &str) -> &'a mut Vec<Item> {
        if !tables.items.contains_key(user_id) {
            let titles = ["Rotate the signing key", "Read RFC 9700", "Ship the demo"];
            let mut seeded = Vec::new();
            for title in titles {
                tables.next_item_id += 1;
                seeded.push(Item {
                    id: tables.next_item_id,
                    title: title.to_owned(),
                });
            }
            tables.items.insert(user_id.to_owned(), seeded);
        }
        tables.items.get_mut(user_id).expect("seeded above")
    }

    fn lock(&self) -> MutexGuard<'_, Tables> {
        self.tables
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
