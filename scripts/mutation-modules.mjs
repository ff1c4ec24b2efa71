/**
 * The pure modules under mutation testing and the unit tests that must kill their mutants
 * (stryker.config.mjs, scripts/mutation.mjs, docs/testing.md). A module whose files do not exist
 * yet (analytics) is skipped until they do.
 */
export const MUTATION_MODULES = {
  track: {
    mutate: ['src/track/**/*.ts'],
    // The MOT15 acceptance (2 s) catches what makes the tracker measurably worse on real data.
    tests: ['test/track.test.ts', 'test/track-displacement.test.ts', 'test/mot-acceptance.test.ts'],
  },
  geometry: {
    // plane.ts (zones, lines, masks) is mutated with the analytics, whose tests cover it.
    mutate: ['src/geometry/**/*.ts', '!src/geometry/plane.ts'],
    tests: ['test/track.test.ts'],
  },
  adapters: {
    mutate: ['src/infer/adapters/**/*.ts'],
    tests: ['test/infer.adapters.test.ts'],
  },
  dropPolicy: {
    mutate: ['src/pipeline/dropPolicy.ts', 'src/pipeline/backoff.ts'],
    tests: ['test/pipeline-dropPolicy.test.ts'],
  },
  letterbox: {
    mutate: ['src/ingest/letterbox.ts'],
    tests: ['test/letterbox.test.ts'],
  },
  mot: {
    // select.ts (the leave-one-out search for the tracker's defaults) is checked end to end by
    // test/mot-select.test.ts, whose one run takes tens of seconds: too slow per mutant.
    mutate: ['src/tools/mot/**/*.ts', '!src/tools/mot/select.ts'],
    tests: ['test/mot.test.ts'],
  },
  analytics: {
    mutate: ['src/analytics/**/*.ts', 'src/geometry/plane.ts'],
    // Its unit tests; analytics-analyze and analytics-serve run the built CLI and ffmpeg end to end.
    tests: ['test/analytics-geometry.test.ts', 'test/analytics-rules.test.ts', 'test/analytics-edges.test.ts'],
  },
  motion: {
    // The gate, the mask rasteriser, the regions and the crops: all of src/motion but the estimator
    // (motionEstimate) and image.ts, whose reduceFrame reads every pixel of each 640x640 test frame:
    // instrumented, it makes each estimate test take over a minute. Unit tests only, quickest first
    // (motion-real and the other motion-* tests need ffmpeg, dist/ or a server).
    mutate: ['src/motion/**/*.ts', '!src/motion/estimate.ts', '!src/motion/image.ts'],
    tests: ['test/motion-gate.test.ts', 'test/motion-crops.test.ts', 'test/motion-estimate.test.ts'],
  },
  motionEstimate: {
    // The estimator alone: each of its mutants runs the estimate tests over generated frames (seconds).
    mutate: ['src/motion/estimate.ts'],
    tests: ['test/motion-estimate.test.ts'],
  },
};
