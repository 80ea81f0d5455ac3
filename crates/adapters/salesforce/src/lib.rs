//! syncd-adapter-salesforce: a Salesforce org holding Magento's MSI objects (TNW PowerSync's
//! Inventory Source, Source Item, Stock, Stock Sales Channel and Source Stock Link, beside
//! `Product2` and the Magento Website), as seed 000 describes them.
//!
//! This crate holds what both of the connector's read paths share, the webhook push of the
//! managed package and the poll by SOQL relationship sub-queries: the sObject tree of a
//! reverse-sync body (`sobject`), the object and field names an org uses (`names`), and the
//! linked-sync units with the canonical records they carry (`unit`); and the client of an org
//! (`client`: OAuth grants, one re-authentication on 401, the daily API budget). On them: the SOQL read of each object (`poll`),
//! the managed package's pushes (`push`), the sObject Collections writes (`write`), and the
//! connector (`connector`, configured by `config`).

pub mod client;
pub mod config;
pub mod connector;
pub mod names;
pub mod poll;
pub mod push;
pub mod sobject;
pub mod unit;
pub mod write;

pub use config::SalesforceConfig;
pub use connector::{SalesforceConnector, SalesforceFactory};
pub use names::Names;
pub use sobject::{Body, Children, Field, SObject, SObjectError};
pub use unit::{Unit, UnitError};
