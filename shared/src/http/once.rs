//! The HTTP side of `Idempotency-Key` (see [`crate::idempotency`]): a keyed request whose answer
//! is kept gets it again, marked `Idempotent-Replayed: true`; otherwise it runs, and its change
//! writes its answer. A request that lost the race to a concurrent one with the same key (its
//! change was refused because the key's record now exists, or because the other request's change
//! moved the state) answers what that request wrote.

use std::any::Any;
use std::future::Future;

use crate::audit::{Actor, Audit};
use crate::clock::now;
use crate::error::{Error, Result};
use crate::http::{Body, Request, Response};
use crate::idempotency::{Claim, Kept, Once};
use crate::identity::ProjectId;
use crate::store::OnceStore;

/// Who a key belongs to: one key of two callers (or of one client in two projects) are two keys.
fn caller_scope(project: ProjectId, actor: &Actor) -> String {
    match actor {
        Actor::Client(id) => format!("{project}/client/{id}"),
        Actor::User(user) => format!("{project}/user/{user}"),
        Actor::Internal => format!("{project}/internal"),
    }
}

/// A change's caller and request, with the request's key if it has one: the change says how its
/// answer is made, and gets the [`Audit`] to pass to the store.
pub struct Keyed {
    by: Audit,
    claim: Option<Claim>,
}

impl Keyed {
    /// For a change whose answer is `answer` whatever happens.
    pub fn answering(self, answer: &Response<Body>) -> Audit {
        let once = self.claim.map(|c| Once::fixed(c, answer));
        self.by.once(once)
    }

    /// For a change answered from its outcome (the store call's value, of type `T`): the
    /// [`Kept`] gives the answer the write kept, which is the one to give (see [`Once::kept`]).
    pub fn answering_with<T: Any>(
        self,
        render: impl Fn(&T) -> Result<Response<Body>> + Send + Sync + 'static,
    ) -> (Audit, Kept) {
        match self.claim {
            None => (self.by, Kept::default()),
            Some(claim) => {
                let once = Once::from_outcome(claim, render);
                let kept = once.kept();
                (self.by.once(Some(once)), kept)
            }
        }
    }
}

/// Runs `change` once per key. `by` names the caller, authenticated by now (so that only the
/// key's own caller ever reads its answer), in `project`; `change` gets it back with the
/// request's key, to make its [`Audit`] from.
pub async fn idempotent<S, E, Fut>(
    store: &S,
    req: &Request,
    project: ProjectId,
    by: Audit,
    change: impl FnOnce(Keyed) -> Fut,
) -> std::result::Result<Response<Body>, E>
where
    S: OnceStore,
    E: From<Error>,
    Fut: Future<Output = std::result::Result<Response<Body>, E>>,
{
    let scope = caller_scope(project, &by.actor);
    let Some(claim) = Claim::from_request(req, &scope, now())? else {
        return change(Keyed { by, claim: None }).await;
    };
    if let Some(record) = store.recall(&claim).await? {
        return Ok(claim.open(&record.sealed)?.replay());
    }
    let keyed = Keyed {
        by,
        claim: Some(claim.clone()),
    };
    match change(keyed).await {
        Ok(answer) => Ok(answer),
        // Refused: if a request with the same key has just written its answer, that is the
        // answer (or 422 if it was another request); else the refusal stands.
        Err(refusal) => match store.recall(&claim).await {
            Ok(Some(record)) => Ok(claim.open(&record.sealed)?.replay()),
            _ => Err(refusal),
        },
    }
}
