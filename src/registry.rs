//! The connector kinds compiled into this build (one cargo feature per adapter crate).

use syncd_core::Registry;

/// Every connector factory this build knows.
pub fn registry() -> Registry {
    #[allow(unused_mut)]
    let mut registry = Registry::new();
    #[cfg(feature = "connector-file")]
    registry.register(Box::new(syncd_adapter_file::FileFactory));
    #[cfg(feature = "connector-fluent")]
    registry.register(Box::new(syncd_adapter_fluent::FluentFactory));
    #[cfg(feature = "connector-newstore")]
    registry.register(Box::new(syncd_adapter_newstore::NewStoreFactory));
    #[cfg(feature = "connector-salesforce")]
    registry.register(Box::new(syncd_adapter_salesforce::SalesforceFactory));
    #[cfg(feature = "connector-shiphero")]
    registry.register(Box::new(syncd_adapter_shiphero::ShipHeroFactory));
    #[cfg(feature = "connector-pim")]
    registry.register(Box::new(syncd_adapter_pim::PimFactory));
    registry
}
