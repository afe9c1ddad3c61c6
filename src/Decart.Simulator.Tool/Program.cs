// decart-sim: the same command line as the simulator project (see Decart.Simulator's Program and docs/simulator.md).
return await Decart.Simulator.Program.Main(args).ConfigureAwait(false);
