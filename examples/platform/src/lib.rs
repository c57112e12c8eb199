//! The call-center platform's shared pieces, used by every role of the `callcenter` daemon:
//!
//! - [`store`]: the platform's tables beside the ledger (tenants, extensions, queues, agents,
//!   IVR menus) and their migrations; every write bumps a generation number.
//! - [`identity`]: what an extension may be called and present (names, caller ID, the
//!   emergency numbers it may not shadow) and its SIP credential, kept as HA1 only.
//! - [`inbound`]: calls from trunks: where each DID sends them (an extension, a queue, an IVR
//!   menu or an outside number), the names that reach queues and menus in a tenant's context,
//!   and the `name@tenant` names FreeSWITCH knows them by.
//! - [`ivr`]: IVR menus as typed values (what each digit does, the sounds a menu may play).
//! - [`provisioning`]: a tenant's queues, agents, tiers, menus and DIDs listed and removed,
//!   with the rules that keep what is left consistent.
//! - [`ring_groups`]: names that ring several of a tenant's extensions, at once or in turn.
//! - [`schedules`]: time-of-day routing, a DID's route chosen by the time in its tenant's
//!   time zone.
//! - [`cache`]: the one cache of what the roles read on every call: tenants (by id, SIP domain
//!   or dialplan context) and extensions, invalidated by the store's generation and a TTL,
//!   bounded.
//! - [`variables`]: the channel variables the platform sets and reads, named in one place
//!   (the tenant variable is configurable).
//! - [`policy`]: the prepaid and recording decisions, taken the same way by the dialplan and the
//!   ESL worker.
//! - [`calls`]: live call state of a FreeSWITCH node, without I/O (channel events in, call
//!   events out).
//! - [`balance`]: the live balance published on the hub on every change to a tenant's money.
//! - [`contact_center`]: live queue and agent state from mod_callcenter's events, without
//!   I/O (members waiting, who answered, agent status and state, calls answered, talk time).
//! - [`statistics`]: the contact center's daily statistics per queue (offered, answered,
//!   abandoned, average speed of answer, service level), each caller stored once.
//! - [`events`]: the per-tenant hub that fans call events out to subscribers.
//! - [`slices`]: a running prepaid call's slices, without I/O (when to extend its hold, where
//!   its limit moves).
//! - [`retry`]: the one retry policy (exponential, jittered) for whatever waits for a
//!   dependency to come back.
//! - [`clock`]: the time of day, in the units the platform stores.
//!
//! ```
//! use platform::variables::ChannelVariables;
//!
//! let variables = ChannelVariables::new("tenant_id");
//! assert_eq!(variables.tenant(), "tenant_id");
//! assert_eq!(ChannelVariables::LIMIT, "callcenter_limit");
//! ```

#![warn(missing_docs)]

pub mod balance;
pub mod cache;
pub mod calls;
pub mod changes;
pub mod clock;
pub mod contact_center;
pub mod events;
pub mod identity;
pub mod inbound;
pub mod ivr;
pub mod leases;
pub mod policy;
pub mod provisioning;
pub mod retry;
pub mod ring_groups;
pub mod schedules;
pub mod slices;
pub mod statistics;
pub mod store;
pub mod trunks;
pub mod variables;
