//! Measures the store's intake alone, without HTTP or XML: how many
//! asynchronous calls a second the SQLite writer makes durable when many
//! callers submit at once.
//!
//! ```text
//! cargo run --release -p confab-store --example intake_bench -- [calls] [callers]
//! ```

use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use confab_core::call::{ObjectCall, Operation};
use confab_core::data_extension::{DataExtensionObject, Property};
use confab_core::intake::AsyncPlan;
use confab_core::object::{ApiObject, ObjectBase};
use confab_core::options::{QueuePriority, RequestOptions};
use confab_core::{AccountId, RequestId};
use confab_store::sqlite::SqliteStore;
use confab_store::{IntakeOutcome, Store, Submission};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let calls: usize = args.next().map_or(Ok(100_000), |value| value.parse())?;
    let callers: usize = args.next().map_or(Ok(128), |value| value.parse())?;

    let dir = std::env::temp_dir().join(format!("confab-intake-bench-{}", std::process::id()));
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir)?);
    store.bootstrap()?;
    let call = ObjectCall {
        operation: Operation::Create,
        options: RequestOptions::default(),
        action: None,
        objects: vec![ApiObject::DataExtensionObject(DataExtensionObject {
            base: ObjectBase {
                customer_key: Some("BENCH".into()),
                ..Default::default()
            },
            properties: vec![Property {
                name: "Value".into(),
                value: Some("x".repeat(32)),
            }],
            ..Default::default()
        })],
    };
    let plan = AsyncPlan {
        part: None,
        priority: QueuePriority::Medium,
        scheduled_time: None,
        expires_at: None,
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let started = Instant::now();
    runtime.block_on(async {
        let mut tasks = Vec::new();
        for caller in 0..callers {
            let (store, call, plan) = (store.clone(), call.clone(), plan.clone());
            tasks.push(tokio::spawn(async move {
                for _ in (caller..calls).step_by(callers) {
                    let submission = Submission::new(
                        RequestId::new_random(),
                        AccountId(7_000_001),
                        plan.clone(),
                        &call,
                        Utc::now(),
                    )
                    .expect("serialise the call");
                    let outcome = store.enqueue(submission).wait().await.expect("enqueue");
                    assert_eq!(outcome, IntakeOutcome::Queued);
                }
            }));
        }
        for task in tasks {
            task.await.expect("caller task");
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{calls} calls from {callers} callers in {seconds:.2} s: {:.0} calls/s",
        calls as f64 / seconds
    );
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
