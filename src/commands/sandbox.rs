//! `syncd sandbox`: every vendor simulator in the foreground, with their URLs and credentials.

use std::process::ExitCode;

use anyhow::Context;
use syncd_sandbox::{Sandbox, SandboxOptions};

/// Runs the simulators until Ctrl-C or SIGTERM.
pub async fn run(options: SandboxOptions) -> anyhow::Result<ExitCode> {
    let sandbox = Sandbox::start_with(options.clone())
        .await
        .with_context(|| match options.port_base {
            Some(base) => format!("starting the sandbox on ports {base} and up"),
            None => "starting the sandbox".to_string(),
        })?;
    for (name, url) in sandbox.urls() {
        println!("{name:<8} {url}");
    }
    let f = sandbox.fluent.config();
    println!(
        "\nfluent credentials: account {} retailer {} client_id {} client_secret {} username {} password {}",
        f.account, f.retailer_id, f.client_id, f.client_secret, f.username, f.password
    );
    println!(
        "fluent retailers: {} (any catalogue, e.g. DEFAULT:<retailer> or the seed's FUTURE:2)",
        f.retailers()
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    );
    let n = sandbox.newstore.config();
    println!(
        "newstore credentials: tenant {} token_url {} client_id {} client_secret {}",
        n.tenant,
        sandbox.newstore.token_url(),
        n.client_id,
        n.client_secret
    );
    println!(
        "newstore controls: {url}/_sandbox/stock, {url}/_sandbox/event_stream, {url}/_sandbox/fulfillment_requests (see docs/newstore.md)",
        url = sandbox.newstore.url()
    );
    let s = sandbox.salesforce.config();
    println!(
        "salesforce credentials: token_url {}/services/oauth2/token client_id {} client_secret {} username {} password {} security_token {} (password, client_credentials, refresh_token and JWT bearer grants; the JWT key is syncd_sandbox::salesforce::SANDBOX_JWT_PRIVATE_KEY, crates/sandbox/src/salesforce/sandbox_jwt.key)",
        sandbox.salesforce.url(),
        s.client_id,
        s.client_secret,
        s.username,
        s.password,
        s.security_token
    );
    println!(
        "salesforce package: PUT {}/_sandbox/push_to {{\"url\": \"<public listener>/hooks/<connector>\", \"secret\": \"<push_secret>\"}} makes every change post its seed-000 unit there (see docs/configuration.md, kind = \"salesforce\")",
        sandbox.salesforce.url()
    );
    let h = sandbox.shiphero.config();
    println!(
        "shiphero credentials: token_url {url}/auth/token username {} password {} (refresh at {url}/auth/refresh, GraphQL at {url}/graphql); account {} warehouses {}",
        h.username,
        h.password,
        h.account_id,
        h.warehouses
            .iter()
            .map(|(id, name)| format!("{id} {name} ({})", sandbox.shiphero.warehouse_id(*id)))
            .collect::<Vec<_>>()
            .join(", "),
        url = sandbox.shiphero.url()
    );
    println!(
        "ergonode (pushes to an app): POST {url}/_sandbox/install {{\"app_url\": \"<app base URL>\"}} handshakes and sends app_installed; POST {url}/_sandbox/synchronize {{\"full\": false}} pushes a delta ({} seeded products), POST {url}/_sandbox/script edits the catalog, GET {url}/_sandbox/state shows calls and answers",
        sandbox.ergonode.config().products,
        url = sandbox.ergonode.url()
    );
    println!("(sandbox credentials, not secrets; Ctrl-C stops)");
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(ExitCode::SUCCESS)
}
