//! What foca 2.0.0 itself does, pinned down because the accuracy figures depend on it.
//!
//! With `Config::new_lan` (`notify_down_members: true`), the timer that turns a suspect into a
//! dead member sends the member `TurnUndead` whenever foca still knows it, even when it has
//! refuted the suspicion in the meantime and is not declared down: `apply_existing_if` answers
//! `Some` whether or not its condition held, and the `TurnUndead` is sent under that `Some`
//! (foca 2.0.0 `src/lib.rs`, `Timer::ChangeSuspectToDown`). The member then takes itself for
//! dead and rejoins under a renewed identity, and the cluster sees its old identity die. Under
//! loss, where many suspicions are raised and refuted, this is most of foca's churn. If a
//! later foca stops doing it, this test fails, and the comparison's notes must change.

use std::num::NonZeroU32;

use foca::{AccumulatingRuntime, Codec, Config, Foca, Member, Message, OwnedNotification, State};
use foca::{Identity, Timer};
use rand::SeedableRng;
use rand::rngs::ChaCha8Rng;
use versus_foca::{MemberId, Wire};

fn swimmer(index: u32) -> Foca<MemberId, Wire, ChaCha8Rng, foca::NoCustomBroadcast> {
    let config = Config::new_lan(NonZeroU32::new(10).unwrap());
    Foca::new(MemberId::first(index), config, ChaCha8Rng::seed_from_u64(index.into()), Wire)
}

fn notices(runtime: &mut AccumulatingRuntime<MemberId>) -> Vec<OwnedNotification<MemberId>> {
    std::iter::from_fn(|| runtime.to_notify()).collect()
}

#[test]
fn a_refuted_suspicion_still_tells_the_member_it_is_down_and_it_rejoins() {
    let (a_id, b_id) = (MemberId::first(0), MemberId::first(1));
    let mut a = swimmer(0);
    let mut b = swimmer(1);
    let mut runtime = AccumulatingRuntime::new();
    // a knows b at incarnation 1: b has refuted a suspicion raised at incarnation 0.
    a.apply_many(std::iter::once(Member::new(b_id, 1, State::Alive)), false, &mut runtime).unwrap();
    b.apply_many(std::iter::once(Member::alive(a_id)), false, &mut runtime).unwrap();
    let mut runtime = AccumulatingRuntime::new();

    // The suspicion's timer, armed when b was suspected at incarnation 0, fires (a's timer
    // token is still its first, 0: connecting does not change it).
    let timer = Timer::ChangeSuspectToDown { member_id: b_id, incarnation: 0, token: 0 };
    a.handle_timer(timer, &mut runtime).unwrap();

    assert!(a.iter_members().any(|member| member.id() == &b_id), "a still holds b alive");
    assert!(
        !notices(&mut runtime).contains(&OwnedNotification::MemberDown(b_id)),
        "a did not declare b down"
    );
    let (to, data) = runtime.to_send().expect("a sent something");
    assert_eq!(to, b_id);
    let header = Wire.decode_header(&data[..]).unwrap();
    assert_eq!(header.message, Message::TurnUndead, "yet a told b that it is down");

    // b believes it, and rejoins under its next identity.
    let mut runtime = AccumulatingRuntime::new();
    b.handle_data(&data, &mut runtime).unwrap();
    let renewed = b_id.renew().unwrap();
    assert_eq!(b.identity(), &renewed);
    assert!(notices(&mut runtime).contains(&OwnedNotification::Rejoin(renewed)));
}
