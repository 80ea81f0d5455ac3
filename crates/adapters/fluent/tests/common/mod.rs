//! What the Fluent adapter's tests share: a connector built against the simulator.

use std::path::Path;
use std::sync::Arc;

use syncd_adapter_fluent::FluentFactory;
use syncd_core::{BuildContext, ConfigSection, Connector, ConnectorFactory};
use syncd_sandbox::fluent::FluentSim;

/// A connector of `sim`'s account keeping its files in `data_dir`, with `extra` keys (TOML
/// lines) besides the credentials; the retailer is the simulator's unless `extra` names one.
pub fn connector(sim: &FluentSim, data_dir: &Path, extra: &str) -> Arc<dyn Connector> {
    let c = sim.config();
    let retailer = match extra.contains("retailer_id") {
        true => String::new(),
        false => format!("retailer_id = {}\n", c.retailer_id),
    };
    let toml = format!(
        "base_url = '{}'\naccount = '{}'\n{retailer}client_id = '{}'\nclient_secret = '{}'\nusername = '{}'\npassword = '{}'\n{extra}",
        sim.url(), c.account, c.client_id, c.client_secret, c.username, c.password
    );
    FluentFactory
        .build(BuildContext {
            name: "fluent".into(),
            section: ConfigSection::from_toml("connectors.fluent", &toml).unwrap(),
            data_dir: data_dir.to_path_buf(),
            base_dir: data_dir.to_path_buf(),
        })
        .unwrap()
}
