// Each browser test runs Chromium with a fake camera and, for the JS SDK tests, the simulator's model (decode,
// transform, encode): on a 2-core machine two at once starve each other's encoders, so they run one at a time.
[assembly: Xunit.CollectionBehavior(DisableTestParallelization = true)]
