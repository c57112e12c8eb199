//! The demo tenant, for a first try with a real FreeSWITCH.

use super::DaemonError;
use crate::api::{ApiUser, Role, Users};
use billing::{Decimal, Ledger, PlanRecord, Rounding};
use platform::store::{ExtensionRow, PlatformStore, Tenant};

/// Creates (or refreshes) one demo tenant, for a first try with a real FreeSWITCH: tenant
/// `demo` on SIP domain `demo.local`, context `demo`, extensions 1000 and 1001 (password
/// `demo-1000`/`demo-1001`), gateway `trunk`, a rate plan of 0.02/min for everything, 10.00 of
/// credit, and API users `admin` (password `demo-admin`) and `agent` (extension 1000, password
/// `demo-agent`). Nothing is created without being asked.
pub async fn seed_demo_data(ledger: &Ledger, store: &PlatformStore) -> Result<(), DaemonError> {
    ledger
        .save_plan(&PlanRecord {
            id: "demo".into(),
            currency: "EUR".into(),
            decimals: 2,
            rounding: Rounding::Up,
            utc_offset_minutes: 0,
            fallback: None,
            rates_csv: "prefix,name,rate_per_minute,connect_fee\n,Everywhere,0.02,0\n".into(),
        })
        .await?;
    if ledger.balance("demo").await.is_err() {
        ledger.open_account("demo", "demo", Decimal::ZERO).await?;
    }
    ledger
        .top_up("demo", Decimal::new(1000, 2), "demo-credit")
        .await?;
    store
        .put_tenant(&Tenant {
            tenant: "demo".into(),
            domain: "demo.local".into(),
            context: "demo".into(),
            gateway: Some("trunk".into()),
            prepaid: true,
            record_calls: false,
            prepaid_slice_seconds: None,
            time_zone: None,
            disabled: false,
        })
        .await?;
    for extension in ["1000", "1001"] {
        store
            .put_extension(&ExtensionRow {
                tenant: "demo".into(),
                extension: extension.into(),
                password: Some(format!("demo-{extension}")),
                a1_hash: None,
                caller_id_name: Some(format!("Demo {extension}")),
                caller_id_number: None,
                record_calls: extension == "1001",
            })
            .await?;
    }
    let users = Users::new(ledger.pool().clone());
    for (name, role, extension) in [
        ("admin", Role::Admin, None),
        ("agent", Role::Agent, Some("1000".to_owned())),
    ] {
        let user = ApiUser {
            tenant: "demo".into(),
            username: name.into(),
            role,
            extension,
        };
        users
            .put(&user, &format!("demo-{name}"))
            .await
            .map_err(|e| DaemonError::Config(format!("demo users: {e}")))?;
    }
    Ok(())
}
