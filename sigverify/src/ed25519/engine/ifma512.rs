//! The engine on AVX-512 IFMA at 512-bit width: eight signatures at once, the
//! field in radix 2^51 on `vpmadd52luq zmm` ([`super::field_ifma512`]), the
//! shared point and kernel code instantiated for eight lanes. SHA-512 runs on
//! the 256-bit code of [`super::ifma`], four messages at a time.

use super::field_ifma512::{Fe8 as Fe4, LANES};

super::point::define_points!("avx512ifma,avx512f,avx512dq,avx512vl,avx2");
super::kernel::define_kernels!("avx512ifma,avx512f,avx512dq,avx512vl,avx2");
