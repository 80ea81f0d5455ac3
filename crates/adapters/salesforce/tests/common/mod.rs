//! What the connector's tests share: the connector of a simulated org, built from its config
//! section as the daemon builds it.

use std::path::Path;
use std::sync::Arc;

use syncd_adapter_salesforce::SalesforceFactory;
use syncd_core::{BuildContext, ConfigSection, Connector, ConnectorFactory};
use syncd_sandbox::salesforce::{SalesforceSim, SANDBOX_JWT_PRIVATE_KEY};

/// The connector `sf` of `sim`'s org (JWT bearer, the sandbox's key), with the `extra` keys of
/// its section (TOML lines), its files in `dir`.
pub fn connector(sim: &SalesforceSim, dir: &Path, extra: &str) -> Arc<dyn Connector> {
    let c = sim.config();
    let toml = format!(
        "login_url = '{}'\nclient_id = '{}'\nusername = '{}'\nprivate_key = '''\n{}'''\n{extra}",
        sim.url(),
        c.client_id,
        c.username,
        SANDBOX_JWT_PRIVATE_KEY
    );
    SalesforceFactory
        .build(BuildContext {
            name: "sf".into(),
            section: ConfigSection::from_toml("connectors.sf", &toml).unwrap(),
            data_dir: dir.to_path_buf(),
            base_dir: dir.to_path_buf(),
        })
        .unwrap()
}
