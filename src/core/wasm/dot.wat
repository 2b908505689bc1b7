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
  ;; out[i] = the dot product of row idx[i] (an i32 list at $idx) with q, for i in [0, n): the same
  ;; arithmetic as dots16, operation for operation, so a row's score is bit for bit the one dots16
  ;; gives it. The int8 pre-filter of the float32 store (vectorStore.ts) re-scores its candidates with it.
  (func (export "dotsAt") (param $mat i32) (param $q i32) (param $idx i32) (param $n i32) (param $dims i32) (param $out i32)
    (local $i i32) (local $j i32) (local $p i32) (local $rowBytes i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128)
    (local.set $rowBytes (i32.shl (local.get $dims) (i32.const 2)))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $p (i32.add (local.get $mat)
          (i32.mul (i32.load (i32.add (local.get $idx) (i32.shl (local.get $i) (i32.const 2)))) (local.get $rowBytes))))
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
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
            (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
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
;; The float32 store's int8 pre-filter (vectorStore.ts): for each row r in [0, rows), the integer dot
  ;; product I of its codes (at $mat) with the int16 query (at $q), computed as dotsI8 does, and the
  ;; interval that holds its exact score: A = I * t * scale[r], e = codeNorm[r] * fa + codeErr[r] * eb
  ;; (f32 arrays at $scales, $cn, $ce), lo[r] = A - e and hi[r] = A + e (f64 arrays at $lo, $hi).
  (func (export "boundsI8") (param $mat i32) (param $q i32) (param $rows i32) (param $dims i32)
    (param $scales i32) (param $cn i32) (param $ce i32) (param $t f64) (param $fa f64) (param $eb f64) (param $lo i32) (param $hi i32)
    (local $r i32) (local $j i32) (local $p i32) (local $qp i32) (local $x v128) (local $a v128) (local $b v128)
    (local $s i32) (local $d i32) (local $A f64) (local $e f64)
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
        (local.set $s (i32.shl (local.get $r) (i32.const 2)))
        (local.set $d (i32.shl (local.get $r) (i32.const 3)))
        (local.set $A (f64.mul
          (f64.mul
            (f64.convert_i32_s (i32.add
              (i32.add (i32x4.extract_lane 0 (local.get $a)) (i32x4.extract_lane 1 (local.get $a)))
              (i32.add (i32x4.extract_lane 2 (local.get $a)) (i32x4.extract_lane 3 (local.get $a)))))
            (local.get $t))
          (f64.promote_f32 (f32.load (i32.add (local.get $scales) (local.get $s))))))
        (local.set $e (f64.add
          (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $cn) (local.get $s)))) (local.get $fa))
          (f64.mul (f64.promote_f32 (f32.load (i32.add (local.get $ce) (local.get $s)))) (local.get $eb))))
        (f64.store (i32.add (local.get $lo) (local.get $d)) (f64.sub (local.get $A) (local.get $e)))
        (f64.store (i32.add (local.get $hi) (local.get $d)) (f64.add (local.get $A) (local.get $e)))
        (local.set $p (i32.add (local.get $p) (local.get $dims)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
  ;; Row quantisation while opening: for each of `rows` float32 rows at $src, scale = max|v| / 127
  ;; (computed in f64, stored as f32) at $scales, codes round(v × 127 / max) (in f64, halves rounded
  ;; up like JavaScript's Math.round) at $dst. Bit-identical to quantizeRow in dotKernel.ts, which
  ;; the store uses without SIMD. dims must be a multiple of 16.
  (func $round64 (param $x v128) (result v128)
    (local $f v128)
    (local.set $f (f64x2.floor (local.get $x)))
    ;; floor(x) + (x - floor(x) >= 0.5): x - floor(x) is exact, unlike floor(x + 0.5).
    (f64x2.add (local.get $f)
      (v128.and (f64x2.ge (f64x2.sub (local.get $x) (local.get $f)) (f64x2.splat (f64.const 0.5))) (f64x2.splat (f64.const 1)))))
  ;; Four float32 values times $inv, rounded, as four i32.
  (func $rq (param $a v128) (param $inv v128) (result v128)
    (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
      (i32x4.trunc_sat_f64x2_s_zero (call $round64 (f64x2.mul (f64x2.promote_low_f32x4 (local.get $a)) (local.get $inv))))
      (i32x4.trunc_sat_f64x2_s_zero (call $round64 (f64x2.mul
        (f64x2.promote_low_f32x4 (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $a) (local.get $a)))
        (local.get $inv))))))
  (func (export "quantI8") (param $src i32) (param $rows i32) (param $dims i32) (param $dst i32) (param $scales i32)
    (local $r i32) (local $j i32) (local $k i32) (local $p i32) (local $o i32) (local $rowBytes i32)
    (local $m v128) (local $mx f32) (local $inv v128)
    (local.set $rowBytes (i32.shl (local.get $dims) (i32.const 2)))
    (local.set $p (local.get $src))
    (local.set $o (local.get $dst))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $m (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $maxDone
          (loop $maxLoop
            (br_if $maxDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $m (f32x4.max (local.get $m) (f32x4.abs (v128.load (i32.add (local.get $p) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $maxLoop)))
        (local.set $mx (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
          (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
        (f32.store (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2)))
          (f32.demote_f64 (f64.div (f64.promote_f32 (local.get $mx)) (f64.const 127))))
        (local.set $inv (f64x2.splat (f64.div (f64.const 127) (f64.promote_f32 (local.get $mx)))))
        (local.set $j (i32.const 0))
        (local.set $k (i32.const 0))
        (block $codesDone
          (loop $codes
            (br_if $codesDone (i32.ge_u (local.get $k) (local.get $dims)))
            (if (f32.eq (local.get $mx) (f32.const 0))
              (then (v128.store (i32.add (local.get $o) (local.get $k)) (v128.const i32x4 0 0 0 0)))
              (else
                (v128.store (i32.add (local.get $o) (local.get $k))
                  (i8x16.narrow_i16x8_s
                    (i16x8.narrow_i32x4_s
                      (call $rq (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $inv))
                      (call $rq (v128.load offset=16 (i32.add (local.get $p) (local.get $j))) (local.get $inv)))
                    (i16x8.narrow_i32x4_s
                      (call $rq (v128.load offset=32 (i32.add (local.get $p) (local.get $j))) (local.get $inv))
                      (call $rq (v128.load offset=48 (i32.add (local.get $p) (local.get $j))) (local.get $inv)))))))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $codes)))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $o (i32.add (local.get $o) (local.get $dims)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))

  ;; The float32 store's pre-filter codes (vectorStore.ts): for each of `rows` float32 rows at $src,
  ;; scale s = max|v| / 127 (f32) at $scales, codes c = nearest(v * (127 / max)) in f32 at $dst (any
  ;; integers would do: the bounds below describe the codes actually stored), and the two bound terms,
  ;; rounded up: norm = s * ||c|| (||c||^2 summed exactly in i32, the rest in f64) at $norms, and
  ;; err >= ||v - s * c|| at $errs. err comes from e~ = fl(v - fl(c * s)) summed in f32; with
  ;; u = 2^-24: |e - e~| <= u|e~|/(1-u) + u|c * s| per component, and the f32 sum of squares is within
  ;; (dims/4 + 3)u of the exact one (four lanes of dims/4 non-negative terms, then two adds), so
  ;; ||e|| <= sqrt(sum)(1 + (dims/4 + 8)u) + u * norm, plus 2^-60 for squares that underflow.
  ;; Several times faster than quantI8 (f32 lanes, no f64 rounding emulation). dims: multiple of 16.
  (func (export "quantF32") (param $src i32) (param $rows i32) (param $dims i32) (param $dst i32) (param $scales i32) (param $norms i32) (param $errs i32)
    (local $r i32) (local $j i32) (local $k i32) (local $p i32) (local $o i32) (local $rowBytes i32)
    (local $m v128) (local $mx f32) (local $s f32) (local $inv v128) (local $sv v128)
    (local $ee v128) (local $cc v128) (local $c0 v128) (local $c1 v128) (local $c2 v128) (local $c3 v128)
    (local $norm f64) (local $sum f64) (local $grow f64)
    (local.set $rowBytes (i32.shl (local.get $dims) (i32.const 2)))
    (local.set $grow (f64.add (f64.const 1) (f64.mul (f64.convert_i32_u (i32.add (i32.shr_u (local.get $dims) (i32.const 2)) (i32.const 8))) (f64.const 0x1p-24))))
    (local.set $p (local.get $src))
    (local.set $o (local.get $dst))
    (block $done
      (loop $rowLoop
        (br_if $done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $m (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $maxDone
          (loop $maxLoop
            (br_if $maxDone (i32.ge_u (local.get $j) (local.get $rowBytes)))
            (local.set $m (f32x4.max (local.get $m) (f32x4.abs (v128.load (i32.add (local.get $p) (local.get $j))))))
            (local.set $j (i32.add (local.get $j) (i32.const 16)))
            (br $maxLoop)))
        (local.set $mx (f32.max
          (f32.max (f32x4.extract_lane 0 (local.get $m)) (f32x4.extract_lane 1 (local.get $m)))
          (f32.max (f32x4.extract_lane 2 (local.get $m)) (f32x4.extract_lane 3 (local.get $m)))))
        (local.set $s (f32.div (local.get $mx) (f32.const 127)))
        (local.set $sv (f32x4.splat (local.get $s)))
        (local.set $inv (f32x4.splat (select (f32.const 0) (f32.div (f32.const 127) (local.get $mx)) (f32.eq (local.get $mx) (f32.const 0)))))
        (local.set $ee (v128.const i32x4 0 0 0 0))
        (local.set $cc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (local.set $k (i32.const 0))
        (block $codesDone
          (loop $codes
            (br_if $codesDone (i32.ge_u (local.get $k) (local.get $dims)))
            (local.set $c0 (f32x4.nearest (f32x4.mul (v128.load (i32.add (local.get $p) (local.get $j))) (local.get $inv))))
            (local.set $c1 (f32x4.nearest (f32x4.mul (v128.load offset=16 (i32.add (local.get $p) (local.get $j))) (local.get $inv))))
            (local.set $c2 (f32x4.nearest (f32x4.mul (v128.load offset=32 (i32.add (local.get $p) (local.get $j))) (local.get $inv))))
            (local.set $c3 (f32x4.nearest (f32x4.mul (v128.load offset=48 (i32.add (local.get $p) (local.get $j))) (local.get $inv))))
            (local.set $ee (f32x4.add (local.get $ee) (call $sq (f32x4.sub (v128.load (i32.add (local.get $p) (local.get $j))) (f32x4.mul (local.get $c0) (local.get $sv))))))
            (local.set $ee (f32x4.add (local.get $ee) (call $sq (f32x4.sub (v128.load offset=16 (i32.add (local.get $p) (local.get $j))) (f32x4.mul (local.get $c1) (local.get $sv))))))
            (local.set $ee (f32x4.add (local.get $ee) (call $sq (f32x4.sub (v128.load offset=32 (i32.add (local.get $p) (local.get $j))) (f32x4.mul (local.get $c2) (local.get $sv))))))
            (local.set $ee (f32x4.add (local.get $ee) (call $sq (f32x4.sub (v128.load offset=48 (i32.add (local.get $p) (local.get $j))) (f32x4.mul (local.get $c3) (local.get $sv))))))
            (local.set $c0 (i32x4.trunc_sat_f32x4_s (local.get $c0)))
            (local.set $c1 (i32x4.trunc_sat_f32x4_s (local.get $c1)))
            (local.set $c2 (i32x4.trunc_sat_f32x4_s (local.get $c2)))
            (local.set $c3 (i32x4.trunc_sat_f32x4_s (local.get $c3)))
            (local.set $cc (i32x4.add (i32x4.add (local.get $cc) (i32x4.add (i32x4.mul (local.get $c0) (local.get $c0)) (i32x4.mul (local.get $c1) (local.get $c1))))
              (i32x4.add (i32x4.mul (local.get $c2) (local.get $c2)) (i32x4.mul (local.get $c3) (local.get $c3)))))
            (v128.store (i32.add (local.get $o) (local.get $k))
              (i8x16.narrow_i16x8_s
                (i16x8.narrow_i32x4_s (local.get $c0) (local.get $c1))
                (i16x8.narrow_i32x4_s (local.get $c2) (local.get $c3))))
            (local.set $j (i32.add (local.get $j) (i32.const 64)))
            (local.set $k (i32.add (local.get $k) (i32.const 16)))
            (br $codes)))
        (f32.store (i32.add (local.get $scales) (i32.shl (local.get $r) (i32.const 2))) (local.get $s))
        (local.set $norm (f64.mul (f64.mul (f64.promote_f32 (local.get $s))
          (f64.sqrt (f64.convert_i32_u (i32.add
            (i32.add (i32x4.extract_lane 0 (local.get $cc)) (i32x4.extract_lane 1 (local.get $cc)))
            (i32.add (i32x4.extract_lane 2 (local.get $cc)) (i32x4.extract_lane 3 (local.get $cc)))))))
          (f64.const 1.00000095367431640625)))
        (f32.store (i32.add (local.get $norms) (i32.shl (local.get $r) (i32.const 2))) (f32.demote_f64 (local.get $norm)))
        (local.set $sum (f64.promote_f32 (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $ee)) (f32x4.extract_lane 1 (local.get $ee)))
          (f32.add (f32x4.extract_lane 2 (local.get $ee)) (f32x4.extract_lane 3 (local.get $ee))))))
        (f32.store (i32.add (local.get $errs) (i32.shl (local.get $r) (i32.const 2)))
          (f32.demote_f64 (f64.mul
            (f64.add (f64.add (f64.mul (f64.sqrt (local.get $sum)) (local.get $grow)) (f64.mul (local.get $norm) (f64.const 0x1p-24))) (f64.const 0x1p-60))
            (f64.const 1.00000095367431640625))))
        (local.set $p (i32.add (local.get $p) (local.get $rowBytes)))
        (local.set $o (i32.add (local.get $o) (local.get $dims)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rowLoop))))
  (func $sq (param $x v128) (result v128) (f32x4.mul (local.get $x) (local.get $x)))
)
