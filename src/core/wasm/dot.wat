;; Dot products of one query against every row of a row-major float32 matrix, with 128-bit SIMD.
;; Compiled to dot.wasm by scripts/build.mjs (wabt). Memory layout is chosen by the caller
;; (src/core/dotKernel.ts): the matrix at offset 0, then the query, then the output scores.
(module
  (memory (export "memory") 1)

  ;; out[r] = sum_j mat[r * dims + j] * q[j] for r in [0, rows). dims must be a multiple of 16:
  ;; four independent accumulators hide the latency of the float adds.
  (func (export "dots16") (param $mat i32) (param $q i32) (param $rows i32) (param $dims i32) (param $out i32)
    (local $r i32) (local $j i32) (local $p i32) (local $rowBytes i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $rowBytes (i32.shl (local.get $dims) (i32.const 2)))
    (local.set $p (local.get $mat))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a0 (v128.const i32x4 0 0 0 0))
        (local.set $a1 (v128.const i32x4 0 0 0 0))
        (local.set $a2 (v128.const i32x4 0 0 0 0))
        (local.set $a3 (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $innerDone
          (loop $inner
            (br_if $innerDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $a0 (f32x4.add (local.get $a0) (f32x4.mul
              (v128.load (i32.add (local.get $p) (local.get $j)))
              (v128.load (i32.add (local.get $q) (local.get $j))))))
            (local.set $a1 (f32x4.add (local.get $a1) (f32x4.mul
              (v128.load offset=16 (i32.add (local.get $p) (local.get $j)))
              (v128.load offset=16 (i32.add (local.get $q) (local.get $j))))))
            (local.set $a2 (f32x4.add (local.get $a2) (f32x4.mul
              (v128.load offset=32 (i32.add (local.get $p) (local.get $j)))
              (v128.load offset=32 (i32.add (local.get $q) (local.get $j))))))
            (local.set $a3 (f32x4.add (local.get $a3) (f32x4.mul
              (v128.load offset=48 (i32.add (local.get $p) (local.get $j)))
              (v128.load offset=48 (i32.add (local.get $q) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))
            (br $inner)))
        (local.set $a0 (f32x4.add (f32x4.add (local.get $a0) (local.get $a1)) (f32x4.add (local.get $a2) (local.get $a3))))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
            (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
;; out[r] = sum_j mat8[r * dims + j] * q16[j] (i32) for int8 rows and an int16 query, r in [0, rows).
  ;; dims must be a multiple of 16. Each step loads 16 int8 codes, widens them to two i16x8 halves and
  ;; multiplies-adds them against the pre-widened query with i32x4.dot_i16x8_s (exact: |code| ≤ 127,
  ;; |q| ≤ 127, dims ≤ 65536, so the sum stays far inside i32).
  (func (export "dotsI8") (param $mat i32) (param $q i32) (param $rows i32) (param $dims i32) (param $out i32)
    (local $r i32) (local $j i32) (local $p i32) (local $qp i32) (local $x v128) (local $a v128) (local $b v128)
    (local.set $p (local.get $mat))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a (v128.const i32x4 0 0 0 0))
        (local.set $b (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (local.set $qp (local.get $q))
        (block $innerDone
          (loop $inner
            (br_if $innerDone (i32.ge_u (local.get $j) (local.get $dims)))
            (local.set $x (v128.load (i32.add (local.get $p) (local.get $j))))
            (local.set $a (i32x4.add (local.get $a)
              (i32x4.dot_i16x8_s (i16x8.extend_low_i8x16_s (local.get $x)) (v128.load (local.get $qp)))))
            (local.set $b (i32x4.add (local.get $b)
              (i32x4.dot_i16x8_s (i16x8.extend_high_i8x16_s (local.get $x)) (v128.load offset=16 (local.get $qp)))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (local.set $qp (i32.add (local.get $qp) (i32.const 32)))
            (br $inner)))
        (local.set $a (i32x4.add (local.get $a) (local.get $b)))
        (i32.store (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
          (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $a)) (i32x4.extract_lane 1 (local.get $a)))
            (i32.add (i32x4.extract_lane 2 (local.get $a)) (i32x4.extract_lane 3 (local.get $a)))))
        (local.set $p (i32.add (local.get $p) (local.get $dims)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
)
