//! Answering a Create, Update, Delete or Perform: run it now, or queue it
//! and hand back a receipt.

use chrono::TimeDelta;
use confab_core::AccountId;
use confab_core::AsyncErrorCode;
use confab_core::RequestId;
use confab_core::call::ObjectCall;
use confab_core::intake::{AsyncPlan, Mode, classify};
use confab_core::options::RequestType;
use confab_core::result::{ObjectResult, OverallStatus};
use confab_store::{IntakeOutcome, Submission};
use tracing::{Instrument, debug, info_span};

use crate::{Engine, EngineError};

/// The `StatusMessage` of each result in an asynchronous receipt. The public
/// material never shows the real text; "Queued" is the reading the spec's
/// §8 suggests and what the recorded clients accepted.
pub const QUEUED_MESSAGE: &str = "Queued";

/// The answer to a Create, Update, Delete or Perform.
#[derive(Debug, Clone)]
pub struct CallOutcome {
    /// One result per object.
    pub results: Vec<ObjectResult>,
    /// The call's `RequestID`.
    pub request_id: RequestId,
    /// The overall status.
    pub overall: OverallStatus,
}

impl Engine {
    /// Answers a Create, Update, Delete or Perform for `account`.
    ///
    /// # Errors
    ///
    /// `BadRequest` when the call has no objects; `Store` when storage
    /// failed, in which case nothing of the call was stored.
    pub async fn submit(
        &self,
        account: AccountId,
        call: ObjectCall,
    ) -> Result<CallOutcome, EngineError> {
        if call.objects.is_empty() {
            let operation = call.operation.as_str();
            return Err(EngineError::BadRequest(format!(
                "the {operation} call has no objects"
            )));
        }
        if let Some(repeated) = call.repeated_correlation_id() {
            return Err(EngineError::BadRequest(format!(
                "CorrelationID {repeated:?} is given to more than one object of this call; \
                 it must be unique within a call"
            )));
        }
        let request_id = RequestId::new_random();
        let now = self.clock.now();
        let mode = classify(
            &call.options,
            call.objects.len(),
            now,
            &self.settings.intake,
        );

        match mode {
            Err(code) => Ok(refusal(request_id, call.objects.len(), code)),
            Ok(Mode::Synchronous) => self.run_synchronously(account, request_id, call).await,
            Ok(Mode::Asynchronous(plan)) => {
                let conversation_id = plan
                    .part
                    .as_ref()
                    .map(|part| part.conversation_id.clone())
                    .unwrap_or_default();
                let span = info_span!("enqueue", %request_id, %conversation_id);
                self.enqueue(account, request_id, plan, call)
                    .instrument(span)
                    .await
            }
        }
    }

    /// Runs a synchronous call in one store transaction.
    async fn run_synchronously(
        &self,
        account: AccountId,
        request_id: RequestId,
        call: ObjectCall,
    ) -> Result<CallOutcome, EngineError> {
        let store = self.store.clone();
        let executor = self.executor.clone();
        let now = self.clock.now();
        let results =
            tokio::task::spawn_blocking(move || store.run_now(executor, account, call, now))
                .await??;
        let overall = OverallStatus::of(&results);
        Ok(CallOutcome {
            results,
            request_id,
            overall,
        })
    }

    /// Queues an asynchronous call and builds its receipt.
    async fn enqueue(
        &self,
        account: AccountId,
        request_id: RequestId,
        plan: AsyncPlan,
        call: ObjectCall,
    ) -> Result<CallOutcome, EngineError> {
        let objects = call.objects.len();
        let conversation_id = plan.part.as_ref().map(|part| part.conversation_id.clone());
        let gap = TimeDelta::from_std(self.settings.housekeeping.conversation_timeout)
            .unwrap_or(TimeDelta::MAX);
        let submission = Submission::new(request_id, account, plan, &call, self.clock.now())?
            .with_conversation_timeout(gap);

        match self.store.enqueue(submission).wait().await? {
            IntakeOutcome::Refused(code) => {
                debug!(code = code.number(), "asynchronous call refused");
                Ok(refusal(request_id, objects, code))
            }
            IntakeOutcome::Queued => {
                debug!("asynchronous call queued");
                self.wake.notify_one();
                let results = (0..objects)
                    .map(|ordinal| ObjectResult {
                        request_id: Some(request_id.to_string()),
                        conversation_id: conversation_id.clone(),
                        request_type: Some(RequestType::Asynchronous),
                        ..ObjectResult::ok(ordinal as i32, QUEUED_MESSAGE)
                    })
                    .collect();
                Ok(CallOutcome {
                    results,
                    request_id,
                    overall: OverallStatus::Ok,
                })
            }
        }
    }
}

/// The answer to a call refused on receipt: every object carries the code.
fn refusal(request_id: RequestId, objects: usize, code: AsyncErrorCode) -> CallOutcome {
    let results = (0..objects.max(1))
        .map(|ordinal| ObjectResult::async_error(ordinal as i32, code))
        .collect();
    CallOutcome {
        results,
        request_id,
        overall: OverallStatus::Error,
    }
}
