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
        Sessions = new Realtime.SessionRegistry(options.KeepEndedSessions);
        Faults = new Faults.FaultSet();
        Rooms = new Rooms.RoomRegistry();
        Faults.Added += fault =>
        {
            if (fault.IsAction && fault.AfterSeconds is null && fault.AfterFrames is null)
            {
                foreach (var session in Sessions.Open)
                {
                    session.Act(fault);
                }
            }
        };
        foreach (var fault in options.Faults)
        {
            Faults.Add(fault);
        }
    }

    public Realtime.SessionRegistry Sessions { get; }

    public Faults.FaultSet Faults { get; }

    public Rooms.RoomRegistry Rooms { get; }

    public SimulatorOptions Options { get; }

    public ILogger Logger { get; }

    public ModelCatalog Models { get; }

    public TokenStore Tokens { get; }

    public JobStore Jobs { get; }
}
