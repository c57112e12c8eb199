//! A running prepaid call's slices, without I/O: when to extend its hold, where its limit
//! moves, and which scheduler task to remove after. The ESL worker drives one [`Slices`] per
//! limited leg on the real clock; tests drive it on a simulated one.
//!
//! The limit only ever moves by adding the new task first and removing the old one second
//! ([`Slices::moved`]), so a failure between the two ends the call early, never late.

use billing::Extension;
use std::time::Duration;

/// Who ends the leg now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Nothing yet (a trunk leg the worker limits itself, before its first task).
    Unset,
    /// The dialplan's `sched_hangup`, filed by FreeSWITCH under the channel's UUID.
    Dialplan,
    /// A scheduler task of ours, by id.
    Task(u64),
}

/// What the driver does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Wait until this Unix second, then extend the hold (and report with
    /// [`Slices::extended`]), retrying until [`Slices::ends`] at the latest.
    ExtendAt(i64),
    /// Nothing more: the current limit ends the leg (or it has ended).
    Done,
}

/// Where to move the limit after an extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    /// From now until the new limit (at least a second: FreeSWITCH's scheduler takes whole
    /// seconds, and a limit in the past would end the call at once).
    pub after: Duration,
    /// The new limit, seconds after answer.
    pub seconds: u64,
}

/// One limited leg's slices.
///
/// ```
/// use billing::{Decimal, Extension};
/// use platform::slices::{Limit, Move, Slices, Step};
/// use std::time::Duration;
///
/// // Answered at 1000 with 300 s held, by the dialplan's limit; slices of 300 s.
/// let mut slices = Slices::new(1000, 300, Duration::from_secs(300), Limit::Dialplan);
/// assert_eq!(slices.next(), Step::ExtendAt(1270)); // 30 s before the limit
///
/// let extended = Extension::Extended { seconds: 600, amount: Decimal::new(610, 2) };
/// let to = slices.extended(extended, 1270).unwrap();
/// assert_eq!(to, Move { after: Duration::from_secs(330), seconds: 600 });
/// // The new task is in place: the dialplan's limit goes (by the channel's group).
/// assert_eq!(slices.moved(to, 7), Limit::Dialplan);
/// assert_eq!(slices.ends(), 1600);
///
/// // No credit for more: the limit stays, and ends the call.
/// assert_eq!(slices.extended(Extension::Exhausted { seconds: 600 }, 1570), None);
/// assert_eq!(slices.next(), Step::Done);
/// ```
#[derive(Debug, Clone)]
pub struct Slices {
    answered: i64,
    seconds: u64,
    lead: i64,
    limit: Limit,
    done: bool,
}

impl Slices {
    /// A leg answered at `answered` (Unix seconds), limited to `seconds` after it by `limit`,
    /// its hold extended by `slice` at a time.
    pub fn new(answered: i64, seconds: u64, slice: Duration, limit: Limit) -> Slices {
        Slices {
            answered,
            seconds,
            lead: Self::lead(slice),
            limit,
            done: false,
        }
    }

    /// How long before a slice ends the next is held: half a slice, at most 30 s (time for a
    /// few retries if the ledger is slow, without holding credit long before it is needed).
    ///
    /// ```
    /// use platform::slices::Slices;
    /// use std::time::Duration;
    ///
    /// assert_eq!(Slices::lead(Duration::from_secs(300)), 30);
    /// assert_eq!(Slices::lead(Duration::from_secs(10)), 5);
    /// ```
    pub fn lead(slice: Duration) -> i64 {
        (slice.as_secs() / 2).min(30) as i64
    }

    /// When the current limit ends the leg, Unix seconds.
    pub fn ends(&self) -> i64 {
        self.answered.saturating_add(self.seconds as i64)
    }

    /// The leg's limit now, seconds after answer.
    pub fn seconds(&self) -> u64 {
        self.seconds
    }

    /// Who ends the leg now.
    pub fn limit(&self) -> Limit {
        self.limit
    }

    /// What to do next.
    pub fn next(&self) -> Step {
        if self.done {
            Step::Done
        } else {
            Step::ExtendAt(self.ends() - self.lead)
        }
    }

    /// The ledger's answer to extending the hold at `now`: where to move the limit, or `None`
    /// when nothing more is to be done (no credit for more, or the hold is closed).
    pub fn extended(&mut self, extension: Extension, now: i64) -> Option<Move> {
        match extension {
            Extension::Extended { seconds, .. } if seconds > self.seconds => {
                Some(self.move_to(seconds, now))
            }
            Extension::Extended { .. } | Extension::Exhausted { .. } | Extension::Closed => {
                self.done = true;
                None
            }
        }
    }

    /// Where a limit of `seconds` after answer goes, at `now` (the first limit of a leg
    /// without one, [`Limit::Unset`]).
    ///
    /// ```
    /// use platform::slices::{Limit, Slices};
    /// use std::time::Duration;
    ///
    /// let slices = Slices::new(1000, 0, Duration::from_secs(300), Limit::Unset);
    /// assert_eq!(slices.move_to(300, 1002).after, Duration::from_secs(298));
    /// ```
    pub fn move_to(&self, seconds: u64, now: i64) -> Move {
        let until = self.answered.saturating_add(seconds as i64);
        Move {
            after: Duration::from_secs(until.saturating_sub(now).max(1) as u64),
            seconds,
        }
    }

    /// The new limit's task `task` is in place: the limit it replaces, to remove
    /// ([`Limit::Unset`]: nothing to remove).
    pub fn moved(&mut self, to: Move, task: u64) -> Limit {
        self.seconds = to.seconds;
        std::mem::replace(&mut self.limit, Limit::Task(task))
    }

    /// The hold could not be extended, or the limit not moved, before the current limit: it
    /// stays, and ends the leg.
    pub fn give_up(&mut self) {
        self.done = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use billing::Decimal;

    fn extended(seconds: u64) -> Extension {
        Extension::Extended {
            seconds,
            amount: Decimal::ONE,
        }
    }

    #[test]
    fn a_trunk_leg_has_nothing_to_remove_the_first_time() {
        let mut slices = Slices::new(0, 10, Duration::from_secs(10), Limit::Unset);
        assert_eq!(slices.next(), Step::ExtendAt(5));
        let to = slices.extended(extended(20), 5).unwrap();
        assert_eq!(to.after, Duration::from_secs(15));
        assert_eq!(slices.moved(to, 1), Limit::Unset);
        let to = slices.extended(extended(30), 15).unwrap();
        assert_eq!(slices.moved(to, 2), Limit::Task(1));
        assert_eq!(slices.limit(), Limit::Task(2));
        assert_eq!(slices.next(), Step::ExtendAt(25));
    }

    #[test]
    fn a_late_extension_still_schedules_at_least_a_second_ahead() {
        let mut slices = Slices::new(0, 10, Duration::from_secs(10), Limit::Dialplan);
        let to = slices.extended(extended(12), 40).unwrap();
        assert_eq!(to.after, Duration::from_secs(1));
    }

    #[test]
    fn a_closed_hold_or_an_extension_that_adds_nothing_ends_the_work() {
        let mut slices = Slices::new(0, 10, Duration::from_secs(10), Limit::Dialplan);
        assert_eq!(slices.extended(extended(10), 5), None);
        assert_eq!(slices.next(), Step::Done);
        let mut slices = Slices::new(0, 10, Duration::from_secs(10), Limit::Dialplan);
        assert_eq!(slices.extended(Extension::Closed, 5), None);
        assert_eq!(slices.next(), Step::Done);
        let mut slices = Slices::new(0, 10, Duration::from_secs(10), Limit::Dialplan);
        slices.give_up();
        assert_eq!(slices.next(), Step::Done);
    }
}
