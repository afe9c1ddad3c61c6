using Decart.Simulator.Constraints;
using Decart.Simulator.Rest;
using Microsoft.Extensions.Logging;

namespace Decart.Simulator.Hosting;

/// <summary>Everything one simulator instance keeps: options, keys and tokens, jobs, models.</summary>
internal sealed class SimulatorState
{
    public SimulatorState(SimulatorOptions options, ILogger logger)
    {
        Options = options;
        Logger = logger;
        Models = new ModelCatalog(options.Models);
        Tokens = new TokenStore(options.EffectiveKeys, options.TimeProvider);
        Jobs = new JobStore(options.TimeProvider, options.JobPendingFor, options.JobProcessingFor);
    }

    public SimulatorOptions Options { get; }

    public ILogger Logger { get; }

    public ModelCatalog Models { get; }

    public TokenStore Tokens { get; }

    public JobStore Jobs { get; }
}
