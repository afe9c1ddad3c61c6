using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;
using Decart.Simulator.Realtime;
using Decart.Simulator.Rest;
using Decart.Simulator.Rooms;
using Microsoft.Extensions.DependencyInjection;

namespace Decart.Simulator.Hosting;

/// <summary>
/// The simulator's services in ASP.NET's container: one of each per simulator — options, models, tokens, jobs,
/// sessions, faults, rooms — and the factory that assembles a session from them. Endpoints and sessions get what they
/// use from here, nothing more.
/// </summary>
internal static class SimulatorServices
{
    public static IServiceCollection AddDecartSimulator(this IServiceCollection services, SimulatorOptions options)
    {
        services.AddSingleton(options);
        services.AddSingleton(_ => new ModelCatalog(options.Models));
        services.AddSingleton(_ => new TokenStore(options.EffectiveKeys, options.TimeProvider, options.TokenRetention, options.MaxTokens));
        services.AddSingleton(_ => new JobStore(options.TimeProvider, options.JobPendingFor, options.JobProcessingFor, options.JobRetention, options.MaxJobs));
        services.AddSingleton(_ => new FileStore(options.TimeProvider, options.MaxFiles, options.MaxFileStoreBytes));
        services.AddSingleton(_ => new SessionRegistry(options.KeepEndedSessions));
        services.AddSingleton(_ => new RoomRegistry());
        services.AddSingleton(_ => new SessionSlots(options.MaxConcurrentSessions));
        services.AddSingleton(sp =>
        {
            var sessions = sp.GetRequiredService<SessionRegistry>();
            var faults = new FaultSet();
            faults.Added += fault =>
            {
                // An action without a condition acts on the sessions open now, once.
                if (fault.IsAction && fault.AfterSeconds is null && fault.AfterFrames is null)
                {
                    foreach (var session in sessions.Open)
                    {
                        session.Act(fault);
                    }
                }
            };
            foreach (var fault in options.Faults)
            {
                faults.Add(fault);
            }

            return faults;
        });
        services.AddSingleton<SessionFactory>();
        services.AddCors(cors => cors.AddDefaultPolicy(policy => policy.SetIsOriginAllowed(options.AllowsOrigin).AllowAnyHeader().AllowAnyMethod().SetPreflightMaxAge(TimeSpan.FromMinutes(10))));
        return services;
    }
}
