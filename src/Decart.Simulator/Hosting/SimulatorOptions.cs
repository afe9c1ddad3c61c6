using Decart.Simulator.Constraints;

namespace Decart.Simulator.Hosting;

/// <summary>How a simulator runs. Binds from configuration (Options pattern) as well as from code.</summary>
public sealed class SimulatorOptions
{
    /// <summary>The key accepted when none is configured: a local development key.</summary>
    public const string DevelopmentKey = "sim_dev_key";

    /// <summary>Address to bind. Default loopback only.</summary>
    public string Host { get; set; } = "127.0.0.1";

    /// <summary>Port; 0 picks a free one. Default 0 (the command line defaults to 7777).</summary>
    public int Port { get; set; }

    /// <summary>Permanent API keys the simulator accepts. Empty: <see cref="DevelopmentKey"/>.</summary>
    public List<string> ApiKeys { get; set; } = [];

    /// <summary>How long a job stays <c>pending</c>.</summary>
    public TimeSpan JobPendingFor { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a job stays <c>processing</c> after that.</summary>
    public TimeSpan JobProcessingFor { get; set; } = TimeSpan.FromMilliseconds(300);

    /// <summary>Jobs for these models end <c>failed</c> instead of <c>completed</c>.</summary>
    public List<string> FailJobsForModels { get; set; } = [];

    /// <summary>Largest accepted request body (multipart uploads), bytes. Default 50 MiB.</summary>
    public long MaxRequestBytes { get; set; } = 50L * 1024 * 1024;

    /// <summary>Extra or changed models.</summary>
    public List<SimulatedModel> Models { get; set; } = [];

    /// <summary>The clock for job schedules and token expiry (tests pass a fake one).</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Minimum log level of ASP.NET Core's own logs. Default Warning.</summary>
    public Microsoft.Extensions.Logging.LogLevel LogLevel { get; set; } = Microsoft.Extensions.Logging.LogLevel.Warning;

    /// <summary>The keys in force: <see cref="ApiKeys"/>, or the development key when none.</summary>
    internal IReadOnlyList<string> EffectiveKeys => ApiKeys.Count > 0 ? ApiKeys : [DevelopmentKey];
}
