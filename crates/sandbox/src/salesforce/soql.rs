//! The SOQL the Salesforce simulator answers: a real parser for the subset clients send, and
//! the evaluation of its filters against records.
//!
//! ```text
//! query     := SELECT item (',' item)* FROM name [WHERE cond] [ORDER BY order (',' order)*] [LIMIT n]
//! item      := path | '(' query ')'                      -- one child sub-query per query
//! path      := name ('.' name)*                          -- parent paths: Product__r.ProductCode
//! cond      := conj (OR conj)*
//! conj      := unary (AND unary)*
//! unary     := NOT unary | '(' cond ')' | path op value | path [NOT] IN '(' value (',' value)* ')'
//! op        := = | != | <> | > | >= | < | <=
//! value     := 'text' | number | TRUE | FALSE | NULL | 2022-03-03T10:53:23.000+0000 | 2022-03-03
//! order     := path [ASC | DESC] [NULLS FIRST | NULLS LAST]
//! ```
//!
//! Keywords are case-insensitive; a malformed query is refused as Salesforce does,
//! `MALFORMED_QUERY`, with where it went wrong.

use std::cmp::Ordering;

use chrono::{DateTime, FixedOffset, NaiveDate};
use serde_json::Value;

/// A parsed query.
#[derive(Clone, Debug, PartialEq)]
pub struct Query {
    /// The select list.
    pub items: Vec<Item>,
    /// The object (or, in a sub-query, the child relationship).
    pub from: String,
    /// The filter.
    pub filter: Option<Condition>,
    /// The order.
    pub order: Vec<Order>,
    /// The most rows.
    pub limit: Option<u64>,
}

/// One entry of a select list.
#[derive(Clone, Debug, PartialEq)]
pub enum Item {
    /// A field, or a path through parent relationships.
    Field(Vec<String>),
    /// A child relationship's records.
    Subquery(Box<Query>),
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`, `<>`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
}

/// A literal.
#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    /// `'text'`
    Text(String),
    /// A number.
    Number(f64),
    /// `TRUE`, `FALSE`
    Bool(bool),
    /// `NULL`
    Null,
    /// An unquoted date and time.
    DateTime(DateTime<FixedOffset>),
    /// An unquoted date.
    Date(NaiveDate),
}

/// A filter.
#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    /// Both.
    And(Box<Condition>, Box<Condition>),
    /// Either.
    Or(Box<Condition>, Box<Condition>),
    /// Not.
    Not(Box<Condition>),
    /// `path op value`
    Compare(Vec<String>, Op, Literal),
    /// `path [NOT] IN (values)`
    In(Vec<String>, Vec<Literal>, bool),
}

/// One ORDER BY entry.
#[derive(Clone, Debug, PartialEq)]
pub struct Order {
    /// What to sort by.
    pub path: Vec<String>,
    /// Descending.
    pub descending: bool,
    /// Nulls before the rest (Salesforce's default when ascending).
    pub nulls_first: bool,
}

/// A query Salesforce would refuse.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("MALFORMED_QUERY: {message} at position {at}")]
pub struct Malformed {
    /// The character offset where it went wrong.
    pub at: usize,
    /// What was expected.
    pub message: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Token {
    Word(String),
    Text(String),
    Symbol(&'static str),
}

fn tokens(text: &str) -> Result<Vec<(usize, Token)>, Malformed> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c == '\'' {
            let mut s = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => {
                        return Err(Malformed {
                            at: start,
                            message: "a text literal is not closed".into(),
                        })
                    }
                    Some('\\') => {
                        let escaped = chars.get(i + 1).copied().ok_or(Malformed {
                            at: i,
                            message: "an escape ends the query".into(),
                        })?;
                        s.push(match escaped {
                            'n' => '\n',
                            't' => '\t',
                            other => other,
                        });
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(other) => {
                        s.push(*other);
                        i += 1;
                    }
                }
            }
            out.push((start, Token::Text(s)));
            continue;
        }
        let two: String = chars[i..(i + 2).min(chars.len())].iter().collect();
        let symbol = match two.as_str() {
            "!=" => Some("!="),
            "<>" => Some("!="),
            ">=" => Some(">="),
            "<=" => Some("<="),
            _ => None,
        };
        if let Some(s) = symbol {
            out.push((start, Token::Symbol(s)));
            i += 2;
            continue;
        }
        let one = match c {
            '(' => Some("("),
            ')' => Some(")"),
            ',' => Some(","),
            '=' => Some("="),
            '>' => Some(">"),
            '<' => Some("<"),
            _ => None,
        };
        if let Some(s) = one {
            out.push((start, Token::Symbol(s)));
            i += 1;
            continue;
        }
        // Names, numbers, keywords and unquoted dates run to the next separator; a date and
        // time may carry `:`, `+` and `-`, a path carries `.`.
        let word_char = |ch: char| ch.is_alphanumeric() || "_.:+-".contains(ch);
        if !word_char(c) {
            return Err(Malformed {
                at: start,
                message: format!("unexpected `{c}`"),
            });
        }
        while i < chars.len() && word_char(chars[i]) {
            i += 1;
        }
        out.push((start, Token::Word(chars[start..i].iter().collect())));
    }
    Ok(out)
}

struct Parser {
    tokens: Vec<(usize, Token)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn position(&self) -> usize {
        self.tokens.get(self.at).map_or(self.end, |(p, _)| *p)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, Malformed> {
        Err(Malformed {
            at: self.position(),
            message: message.into(),
        })
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at).map(|(_, t)| t)
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(w)) if w.eq_ignore_ascii_case(word))
    }

    fn eat_keyword(&mut self, word: &str) -> bool {
        let found = self.keyword(word);
        if found {
            self.at += 1;
        }
        found
    }

    fn expect_keyword(&mut self, word: &str) -> Result<(), Malformed> {
        match self.eat_keyword(word) {
            true => Ok(()),
            false => self.fail(format!("expected {word}")),
        }
    }

    fn eat_symbol(&mut self, symbol: &str) -> bool {
        let found = matches!(self.peek(), Some(Token::Symbol(s)) if *s == symbol);
        if found {
            self.at += 1;
        }
        found
    }

    fn name(&mut self) -> Result<String, Malformed> {
        match self.peek() {
            Some(Token::Word(w))
                if w.chars().next().is_some_and(|c| c.is_alphabetic())
                    && w.chars()
                        .all(|c| c.is_alphanumeric() || c == '_' || c == '.') =>
            {
                let w = w.clone();
                self.at += 1;
                Ok(w)
            }
            _ => self.fail("expected a name"),
        }
    }

    fn path(&mut self) -> Result<Vec<String>, Malformed> {
        let at = self.position();
        let name = self.name()?;
        let parts: Vec<String> = name.split('.').map(str::to_string).collect();
        if parts.iter().any(String::is_empty) {
            return Err(Malformed {
                at,
                message: format!("`{name}` is not a field path"),
            });
        }
        Ok(parts)
    }

    fn query(&mut self, nested: bool) -> Result<Query, Malformed> {
        self.expect_keyword("SELECT")?;
        let mut items = Vec::new();
        let mut subqueries = 0;
        loop {
            if self.eat_symbol("(") {
                if nested {
                    return self.fail("a sub-query cannot hold another");
                }
                subqueries += 1;
                if subqueries > 1 {
                    return self.fail("one child sub-query per query");
                }
                let sub = self.query(true)?;
                if !self.eat_symbol(")") {
                    return self.fail("expected `)` after the sub-query");
                }
                items.push(Item::Subquery(Box::new(sub)));
            } else {
                items.push(Item::Field(self.path()?));
            }
            if !self.eat_symbol(",") {
                break;
            }
        }
        self.expect_keyword("FROM")?;
        let from = self.name()?;
        let filter = match self.eat_keyword("WHERE") {
            true => Some(self.condition()?),
            false => None,
        };
        let mut order = Vec::new();
        if self.eat_keyword("ORDER") {
            self.expect_keyword("BY")?;
            loop {
                let path = self.path()?;
                let descending = !self.eat_keyword("ASC") && self.eat_keyword("DESC");
                let mut nulls_first = !descending;
                if self.eat_keyword("NULLS") {
                    nulls_first = match (self.eat_keyword("FIRST"), self.eat_keyword("LAST")) {
                        (true, _) => true,
                        (_, true) => false,
                        _ => return self.fail("expected FIRST or LAST"),
                    };
                }
                order.push(Order {
                    path,
                    descending,
                    nulls_first,
                });
                if !self.eat_symbol(",") {
                    break;
                }
            }
        }
        let limit = match self.eat_keyword("LIMIT") {
            true => match self.peek() {
                Some(Token::Word(w)) if w.parse::<u64>().is_ok() => {
                    let n = w.parse().expect("checked");
                    self.at += 1;
                    Some(n)
                }
                _ => return self.fail("expected a row count after LIMIT"),
            },
            false => None,
        };
        Ok(Query {
            items,
            from,
            filter,
            order,
            limit,
        })
    }

    fn condition(&mut self) -> Result<Condition, Malformed> {
        let mut left = self.conjunction()?;
        while self.eat_keyword("OR") {
            left = Condition::Or(Box::new(left), Box::new(self.conjunction()?));
        }
        Ok(left)
    }

    fn conjunction(&mut self) -> Result<Condition, Malformed> {
        let mut left = self.unary()?;
        while self.eat_keyword("AND") {
            left = Condition::And(Box::new(left), Box::new(self.unary()?));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Condition, Malformed> {
        if self.eat_keyword("NOT") {
            return Ok(Condition::Not(Box::new(self.unary()?)));
        }
        if self.eat_symbol("(") {
            let inner = self.condition()?;
            if !self.eat_symbol(")") {
                return self.fail("expected `)`");
            }
            return Ok(inner);
        }
        let path = self.path()?;
        let negated = self.eat_keyword("NOT");
        if self.eat_keyword("IN") {
            if !self.eat_symbol("(") {
                return self.fail("expected `(` after IN");
            }
            let mut values = vec![self.literal()?];
            while self.eat_symbol(",") {
                values.push(self.literal()?);
            }
            if !self.eat_symbol(")") {
                return self.fail("expected `)` after the IN list");
            }
            return Ok(Condition::In(path, values, negated));
        }
        if negated {
            return self.fail("expected IN after NOT");
        }
        let op = match self.peek() {
            Some(Token::Symbol("=")) => Op::Eq,
            Some(Token::Symbol("!=")) => Op::Ne,
            Some(Token::Symbol(">")) => Op::Gt,
            Some(Token::Symbol(">=")) => Op::Ge,
            Some(Token::Symbol("<")) => Op::Lt,
            Some(Token::Symbol("<=")) => Op::Le,
            _ => return self.fail("expected a comparison (= != > >= < <= IN)"),
        };
        self.at += 1;
        Ok(Condition::Compare(path, op, self.literal()?))
    }

    fn literal(&mut self) -> Result<Literal, Malformed> {
        let literal = match self.peek() {
            Some(Token::Text(s)) => Literal::Text(s.clone()),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("true") => Literal::Bool(true),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("false") => Literal::Bool(false),
            Some(Token::Word(w)) if w.eq_ignore_ascii_case("null") => Literal::Null,
            Some(Token::Word(w)) => match datetime(w) {
                Some(t) => Literal::DateTime(t),
                None => match NaiveDate::parse_from_str(w, "%Y-%m-%d") {
                    Ok(d) => Literal::Date(d),
                    Err(_) => match w.parse::<f64>() {
                        Ok(n) if n.is_finite() => Literal::Number(n),
                        _ => return self.fail(format!("`{w}` is not a value")),
                    },
                },
            },
            _ => return self.fail("expected a value"),
        };
        self.at += 1;
        Ok(literal)
    }
}

/// A date and time as SOQL and Salesforce's JSON write them (`…Z`, `…+0000`, `…+00:00`).
pub fn datetime(text: &str) -> Option<DateTime<FixedOffset>> {
    DateTime::parse_from_rfc3339(text)
        .or_else(|_| DateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f%z"))
        .ok()
}

/// Parses `text` as a query.
pub fn parse(text: &str) -> Result<Query, Malformed> {
    let tokens = tokens(text)?;
    let mut parser = Parser {
        tokens,
        at: 0,
        end: text.chars().count(),
    };
    let query = parser.query(false)?;
    if parser.at < parser.tokens.len() {
        return parser.fail("unexpected text after the query");
    }
    Ok(query)
}

/// How a record's value compares with a literal; `None` when they cannot be compared.
fn compare(value: &Value, literal: &Literal) -> Option<Ordering> {
    match (value, literal) {
        (Value::Null, Literal::Null) => Some(Ordering::Equal),
        (Value::Null, _) | (_, Literal::Null) => None,
        (Value::String(s), Literal::DateTime(t)) => datetime(s).map(|v| v.cmp(t)),
        (Value::String(s), Literal::Date(d)) => NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .ok()
            .or_else(|| datetime(s).map(|t| t.date_naive()))
            .map(|v| v.cmp(d)),
        (Value::String(s), Literal::Text(t)) => Some(s.as_str().cmp(t.as_str())),
        (Value::String(s), Literal::Number(n)) => s.parse::<f64>().ok()?.partial_cmp(n),
        (Value::Number(v), Literal::Number(n)) => v.as_f64()?.partial_cmp(n),
        (Value::Bool(v), Literal::Bool(b)) => Some(v.cmp(b)),
        _ => None,
    }
}

impl Condition {
    /// Whether a record matches, `get` giving the value at a path (`None` when absent).
    pub fn matches(&self, get: &dyn Fn(&[String]) -> Option<Value>) -> bool {
        match self {
            Condition::And(a, b) => a.matches(get) && b.matches(get),
            Condition::Or(a, b) => a.matches(get) || b.matches(get),
            Condition::Not(c) => !c.matches(get),
            Condition::Compare(path, op, literal) => {
                let value = get(path).unwrap_or(Value::Null);
                let ordering = compare(&value, literal);
                match op {
                    Op::Eq => ordering == Some(Ordering::Equal),
                    // Salesforce: `!= null` is true of every value that is not null.
                    Op::Ne => ordering != Some(Ordering::Equal),
                    Op::Gt => ordering == Some(Ordering::Greater),
                    Op::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
                    Op::Lt => ordering == Some(Ordering::Less),
                    Op::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
                }
            }
            Condition::In(path, values, negated) => {
                let value = get(path).unwrap_or(Value::Null);
                let found = values
                    .iter()
                    .any(|l| compare(&value, l) == Some(Ordering::Equal));
                found != *negated
            }
        }
    }
}

/// How two records' values at one ORDER BY entry sort.
pub fn order(a: &Value, b: &Value, entry: &Order) -> Ordering {
    let ordering = match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => {
            return if entry.nulls_first {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (_, Value::Null) => {
            return if entry.nulls_first {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (Value::String(x), Value::String(y)) => match (datetime(x), datetime(y)) {
            (Some(x), Some(y)) => x.cmp(&y),
            _ => x.cmp(y),
        },
        (Value::Number(x), Value::Number(y)) => x
            .as_f64()
            .partial_cmp(&y.as_f64())
            .unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    };
    match entry.descending {
        true => ordering.reverse(),
        false => ordering,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(p: &str) -> Vec<String> {
        p.split('.').map(str::to_string).collect()
    }

    #[test]
    fn the_incremental_read_parses_and_pages_past_equal_timestamps_by_id() {
        let q = parse(
            "select Id, Quantity__c, Product__r.ProductCode FROM Inventory_Source_Item__c \
             WHERE SystemModstamp > 2022-03-03T10:53:23.000+0000 \
             OR (SystemModstamp = 2022-03-03T10:53:23.000Z AND Id > 'a005f000008Iu4y') \
             ORDER BY SystemModstamp, Id LIMIT 200",
        )
        .unwrap();
        assert_eq!(q.from, "Inventory_Source_Item__c");
        assert_eq!(q.items[2], Item::Field(path("Product__r.ProductCode")));
        assert_eq!(q.limit, Some(200));
        assert_eq!(q.order.len(), 2);
        let filter = q.filter.unwrap();
        let record = |stamp: &str, id: &str| {
            let r = json!({"SystemModstamp": stamp, "Id": id});
            move |p: &[String]| r.get(&p[0]).cloned()
        };
        assert!(filter.matches(&record("2022-03-03T10:53:24.000+0000", "a0")));
        assert!(filter.matches(&record("2022-03-03T10:53:23.000+0000", "a005f000008Iu4z")));
        assert!(!filter.matches(&record("2022-03-03T10:53:23.000+0000", "a005f000008Iu4y")));
        assert!(!filter.matches(&record("2022-03-03T10:53:22.000+0000", "zzz")));
    }

    #[test]
    fn one_child_sub_query_is_read_and_a_second_is_refused() {
        let q = parse(
            "SELECT Id, (SELECT Id, Quantity__c FROM Inventory_Source_Items__r WHERE Status__c = '1') FROM Product2 WHERE ProductCode IN ('a', 'b')",
        )
        .unwrap();
        match &q.items[1] {
            Item::Subquery(sub) => assert_eq!(sub.from, "Inventory_Source_Items__r"),
            other => panic!("{other:?}"),
        }
        let e = parse("SELECT (SELECT Id FROM A__r), (SELECT Id FROM B__r) FROM X").unwrap_err();
        assert!(e.message.contains("one child sub-query"), "{e}");
    }

    #[test]
    fn a_malformed_query_says_where() {
        for (text, at) in [
            ("SELECT Id FROM", 14),
            ("SELECT Id Account", 10),
            ("SELECT Id FROM Account WHERE Name = 'open", 36),
            ("SELECT Id FROM Account WHERE Name ~ 'x'", 34),
            ("SELECT Id FROM Account LIMIT many", 29),
        ] {
            let e = parse(text).unwrap_err();
            assert_eq!(e.at, at, "{text}: {e}");
            assert!(e.to_string().starts_with("MALFORMED_QUERY"));
        }
    }

    #[test]
    fn in_not_in_null_and_booleans_evaluate_as_salesforce_does() {
        let q = parse(
            "SELECT Id FROM X WHERE Code__c NOT IN ('a', 'b') AND Deleted__c != TRUE AND Note__c = NULL AND Qty__c >= 5",
        )
        .unwrap();
        let filter = q.filter.unwrap();
        let r = json!({"Code__c": "c", "Deleted__c": false, "Note__c": null, "Qty__c": "27"});
        assert!(filter.matches(&|p: &[String]| r.get(&p[0]).cloned()));
        let r = json!({"Code__c": "a", "Deleted__c": false, "Note__c": null, "Qty__c": 27});
        assert!(!filter.matches(&|p: &[String]| r.get(&p[0]).cloned()));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

        /// Any text is a query or `MALFORMED_QUERY` with a position inside it, never a panic.
        #[test]
        fn any_text_parses_or_is_refused_with_a_position(text in "[ -~]{0,80}") {
            if let Err(e) = parse(&text) {
                proptest::prop_assert!(e.at <= text.chars().count());
            }
        }

        /// Queries built from the grammar's pieces always parse.
        #[test]
        fn queries_of_the_grammar_parse(
            field in "[A-Z][a-z]{0,6}(__c)?",
            value in "[a-z0-9]{0,6}",
            n in 0u64..1000,
        ) {
            let text = format!(
                "SELECT Id, {field} FROM Thing__c WHERE ({field} = '{value}' OR {field} IN ('{value}', 'x')) AND Qty__c >= {n} ORDER BY {field} DESC NULLS LAST LIMIT {n}"
            );
            proptest::prop_assert!(parse(&text).is_ok(), "{}", text);
        }
    }
}
