//! Salesforce, as the connector to come will meet it: so far the SOQL the simulator answers
//! (`soql`); the REST endpoints, auth grants, sObjects and the managed package's pushes follow.

pub mod soql;
