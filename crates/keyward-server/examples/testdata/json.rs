//! A small ordered JSON writer for the vector files. serde_json's `Value`
//! sorts object keys (the workspace does not enable `preserve_order`), and
//! the files should read top-down (`name` first, `expect` last) and carry
//! the exchange's details exactly as sent (key order, number spelling,
//! escapes), so objects here keep their order and raw text is spliced in
//! as it is.

use serde_json::Value;

/// One JSON value to write.
pub enum J {
    /// Raw JSON text, written as it is (on one line).
    Raw(String),
    /// A serde_json value (its objects' keys sorted).
    V(Value),
    /// An object, members in this order.
    Obj(Vec<(String, J)>),
    /// An array.
    Arr(Vec<J>),
}

/// An object from `(key, value)` pairs, in order.
pub fn obj<const N: usize>(members: [(&str, J); N]) -> J {
    J::Obj(
        members
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
    )
}

/// A serde_json value.
pub fn v(value: impl Into<Value>) -> J {
    J::V(value.into())
}

impl J {
    /// Pretty-printed with two-space indentation and a final newline.
    pub fn pretty(&self) -> String {
        let mut out = String::new();
        write(self, 0, &mut out);
        out.push('\n');
        out
    }
}

fn indent(level: usize, out: &mut String) {
    out.push('\n');
    out.push_str(&"  ".repeat(level));
}

fn string(s: &str) -> String {
    Value::String(s.to_owned()).to_string()
}

fn write(j: &J, level: usize, out: &mut String) {
    match j {
        J::Raw(text) => out.push_str(text),
        J::V(Value::Object(map)) => {
            let members = map.iter().map(|(k, v)| (k.clone(), J::V(v.clone())));
            write(&J::Obj(members.collect()), level, out);
        }
        J::V(Value::Array(items)) => {
            write(
                &J::Arr(items.iter().cloned().map(J::V).collect()),
                level,
                out,
            );
        }
        J::V(scalar) => out.push_str(&scalar.to_string()),
        J::Obj(members) if members.is_empty() => out.push_str("{}"),
        J::Obj(members) => {
            out.push('{');
            for (i, (k, v)) in members.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(level + 1, out);
                out.push_str(&string(k));
                out.push_str(": ");
                write(v, level + 1, out);
            }
            indent(level, out);
            out.push('}');
        }
        J::Arr(items) if items.is_empty() => out.push_str("[]"),
        J::Arr(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                indent(level + 1, out);
                write(item, level + 1, out);
            }
            indent(level, out);
            out.push(']');
        }
    }
}
