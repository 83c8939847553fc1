//! The campaigns KV namespace, bound directly. The `worker` crate's KV
//! builders pass their options and listings through serde-wasm-bindgen;
//! the four calls the product makes need none of that.

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use worker::js_sys::{Object, Promise, Reflect};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(extends = Object)]
    pub type KvNamespace;

    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_text(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_text(this: &KvNamespace, key: &str, value: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete_key(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = list)]
    fn list_keys(this: &KvNamespace, options: &Object) -> Result<Promise, JsValue>;
}

use super::error::{Failure, Outcome};

fn describe(e: JsValue) -> Failure {
    Failure::new("KV", super::platform::error_text(&e))
}

/// The namespace bound as `binding`.
pub fn namespace(env: &Env, binding: &str) -> Outcome<KvNamespace> {
    let value = Reflect::get(env.as_ref(), &JsValue::from_str(binding)).map_err(describe)?;
    if value.is_undefined() || value.is_null() {
        return Err(Failure::new(
            "KV",
            format!("no namespace is bound as {binding}"),
        ));
    }
    Ok(value.unchecked_into())
}

async fn settle(promise: Result<Promise, JsValue>) -> Outcome<JsValue> {
    JsFuture::from(promise.map_err(describe)?)
        .await
        .map_err(describe)
}

impl KvNamespace {
    /// The value under `key` as text; `None` if there is none.
    pub async fn text(&self, key: &str) -> Outcome<Option<String>> {
        let value = settle(self.get_text(key)).await?;
        if value.is_null() || value.is_undefined() {
            return Ok(None);
        }
        value
            .as_string()
            .map(Some)
            .ok_or_else(|| Failure::new("KV get", "an answer that is not text"))
    }

    pub async fn put(&self, key: &str, value: &str) -> Outcome<()> {
        settle(self.put_text(key, value)).await.map(|_| ())
    }

    pub async fn delete(&self, key: &str) -> Outcome<()> {
        settle(self.delete_key(key)).await.map(|_| ())
    }

    /// One page of the keys under `prefix`: their names, and the cursor of
    /// the next page (`None` on the last).
    pub async fn list(
        &self,
        prefix: &str,
        cursor: Option<&str>,
    ) -> Outcome<(Vec<String>, Option<String>)> {
        let options = Object::new();
        let set = |name: &str, value: &str| {
            Reflect::set(
                &options,
                &JsValue::from_str(name),
                &JsValue::from_str(value),
            )
            .map_err(describe)
        };
        set("prefix", prefix)?;
        if let Some(cursor) = cursor {
            set("cursor", cursor)?;
        }
        let page = settle(self.list_keys(&options)).await?;
        let field = |name: &str| Reflect::get(&page, &JsValue::from_str(name)).map_err(describe);
        let keys: worker::js_sys::Array = field("keys")?
            .dyn_into()
            .map_err(|_| Failure::new("KV list", "an answer without keys"))?;
        let mut names = Vec::with_capacity(keys.length() as usize);
        for key in keys.iter() {
            if let Some(name) = Reflect::get(&key, &JsValue::from_str("name"))
                .ok()
                .and_then(|n| n.as_string())
            {
                names.push(name);
            }
        }
        let complete = field("list_complete")?.as_bool().unwrap_or(true);
        let next = if complete {
            None
        } else {
            field("cursor")?.as_string().filter(|c| !c.is_empty())
        };
        Ok((names, next))
    }
}
