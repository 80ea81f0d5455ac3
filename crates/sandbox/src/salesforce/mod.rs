//! Salesforce, as the connector to come will meet it. So far: the SOQL the simulator answers
//! (`soql`), record ids with Salesforce's checksum (`ids`), the org's objects and lookups
//! (`schema`), and its records on a controllable clock, queried (`store`). The REST endpoints,
//! auth grants, writes and the managed package's pushes are built on them next.

pub mod ids;
pub mod schema;
pub mod soql;
pub mod store;
