/**
 * The synthetic scene the built-in detectors are made for (the contract shared with src/tools/synth):
 * four flat-coloured target classes over a low-saturation grey/brown background, letterboxed with
 * grey 114. The colour rules below are what the detectors compute with ONNX operators.
 */

export const SCENE_CLASSES = ['red', 'green', 'blue', 'yellow'] as const;

/** Nominal RGB of each class, 0..255. */
export const SCENE_COLOURS: ReadonlyArray<readonly [number, number, number]> = [
  [220, 40, 40],
  [40, 190, 70],
  [40, 80, 220],
  [230, 200, 40],
];

/**
 * A pixel belongs to a class when both of its colour-difference tests pass. Each test is a channel
 * difference (in 0..255 levels) compared with a threshold halfway between the class's value and the
 * largest value a background pixel (channel differences under 30), the grey pad, or another class
 * that the other test does not already reject can reach.
 * Channels: 0 = R, 1 = G, 2 = B. A test [a, b, t] passes when channel a - channel b > t.
 */
export const COLOUR_TESTS: ReadonlyArray<readonly [readonly [number, number, number], readonly [number, number, number]]> = [
  [[0, 1, 105], [0, 2, 105]], // red: R-G 180, R-B 180 (yellow has R-G 30)
  [[1, 0, 90], [1, 2, 75]], // green: G-R 150, G-B 120 (blue has G-R 40, yellow G-R -30)
  [[2, 0, 105], [2, 1, 85]], // blue: B-R 180, B-G 140
  [[0, 2, 110], [1, 2, 95]], // yellow: R-B 190, G-B 160 (red has G-B 0, green R-B -30)
];

/** Colour-difference levels per logit unit: a class logit is (difference - threshold) / this. */
export const LEVELS_PER_LOGIT = 32;

/** Smallest and largest target side the detectors are built for, in input pixels. */
export const MIN_TARGET_PX = 16;
export const MAX_TARGET_PX = 96;

/** `names` metadata as Ultralytics writes it (a Python dict literal). */
export function namesLiteral(names: readonly string[] = SCENE_CLASSES): string {
  return `{${names.map((n, i) => `${i}: '${n}'`).join(', ')}}`;
}
