/** Public surface of the synthetic clip generator. */
export { DEMO_CLIP_NAME, demoClipPath, ensureDemoClip, generateClip, groundTruthPath, SYNTH_VERSION } from './generate.js';
export type { DemoClipOptions, GenerateClipOptions, GeneratedClip } from './generate.js';
export { parseGroundTruth, readGroundTruth, visibleMask } from './groundTruth.js';
export type { GtFrame, GtTarget } from './groundTruth.js';
export { computeVisibility, visibleMaskOf } from './raster.js';
export type { PlacedShape, ShapeKind, ShapeParams, Visibility } from './raster.js';
export { SYNTH_CLASSES } from './scene.js';
export type { SynthClass } from './scene.js';
export { ANALYTICS_SCENE_CONFIG, ANALYTICS_SCENE_EXPECTED, ANALYTICS_SCENE_SIZE, analyticsScenePlan } from './analyticsScene.js';
export type { ExpectedAnalyticsEvent } from './analyticsScene.js';
export { MOTION_SCENE_LIGHT, MOTION_SCENE_SECONDS, MOTION_SCENE_STILL, motionScenePlan } from './motionScene.js';
