//! `SplittableRandom` against the JDK values listed in the vectors README (§7).

use strom_nexmark::random::{mix64, GOLDEN_GAMMA};
use strom_nexmark::SplittableRandom;

const S: u64 = 42;

#[test]
fn instance_starting_values_seeds_and_gammas() {
    // (k, s_k as i64, seed after mix64, gamma after mixGamma)
    let table: [(u64, i64, u64, u64); 4] = [
        (0, 42, 0xa759ea27d4727622, 0x87b62dca52aed56d),
        (
            1,
            4354685564936845396,
            0x28efe333b266f103,
            0x778bf073f79acc91,
        ),
        (
            2,
            8709371129873690750,
            0x581ce1ff0e4ae394,
            0xbb2dc89bc7230a83,
        ),
        (
            3,
            -5382687378899015512,
            0xde4431fa3c80db06,
            0x52b054a56d5ea8c3,
        ),
    ];
    for (k, s_k, seed, gamma) in table {
        let s = S.wrapping_add(k.wrapping_mul(2).wrapping_mul(GOLDEN_GAMMA));
        assert_eq!(s as i64, s_k, "s_{k}");
        assert_eq!(mix64(s), seed, "seed of instance {k}");
        let rng = SplittableRandom::instance(S, k);
        assert_eq!((rng.seed(), rng.gamma()), (seed, gamma), "instance {k}");
        assert_eq!(rng, SplittableRandom::from_default_gen(s));
    }
}

#[test]
fn unit_values_of_instance_2() {
    let mut rng = SplittableRandom::instance(S, 2);
    let ints: Vec<i32> = (0..5).map(|_| rng.next_int()).collect();
    assert_eq!(
        ints,
        [-1255786894, 1292446702, 47258236, -490335558, -774815123]
    );
    let longs: Vec<i64> = (0..3).map(|_| rng.next_long()).collect();
    assert_eq!(
        longs,
        [54379484264891322, 8817942834512949560, -6261314957358570931]
    );
    let doubles: Vec<f64> = (0..3).map(|_| rng.next_double()).collect();
    assert_eq!(
        doubles,
        [0.7291971293438749, 0.8648096524677114, 0.8980338530561213]
    );
    let bounded: Vec<i32> = [2, 4, 13, 26, 10000, 332, 1048508]
        .iter()
        .map(|&b| rng.next_int_bounded(b))
        .collect();
    assert_eq!(bounded, [0, 3, 4, 3, 4269, 186, 131351]);
}

#[test]
fn rejection_loop_consumes_extra_draws() {
    let mut rng = SplittableRandom::instance(S, 2);
    let start = rng.seed();
    let got: Vec<i32> = (0..6).map(|_| rng.next_int_bounded(1073741825)).collect();
    assert_eq!(
        got,
        [646223351, 23629118, 833207844, 933669564, 127482510, 2673490]
    );
    // 9 steps were taken: the seed advanced by exactly 9·gamma.
    assert_eq!(
        rng.seed(),
        start.wrapping_add(9u64.wrapping_mul(rng.gamma()))
    );
    assert_eq!(rng.next_int(), 2062201338);
}

#[test]
fn explicit_seed_constructor_uses_golden_gamma() {
    let rng = SplittableRandom::with_seed(123);
    assert_eq!((rng.seed(), rng.gamma()), (123, GOLDEN_GAMMA));
}
