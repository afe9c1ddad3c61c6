using System.Text.Json;
using System.Text.Json.Serialization;
using Decart.Simulator.Constraints;
using Decart.Simulator.Faults;

namespace Decart.Simulator.Hosting;

/// <summary>A scenario file that cannot be used; the message names the file, the line or field, and why.</summary>
public sealed class ScenarioException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is wrong, and where.</param>
    /// <param name="inner">The parse error, if any.</param>
    public ScenarioException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>A realtime model override in a scenario file.</summary>
/// <param name="Name">Model name (a new one, or one of the catalog to change).</param>
/// <param name="Fps">Ideal fps.</param>
/// <param name="MaxFps">Highest accepted fps (default: <paramref name="Fps"/>).</param>
/// <param name="Width">Expected width.</param>
/// <param name="Height">Expected height.</param>
public sealed record ScenarioModel(string Name, int Fps, int? MaxFps, int Width, int Height);

/// <summary>
/// A scenario file (<c>--scenario file.json</c>): keys, strictness, latencies, model overrides and the faults in
/// force from the start. Format and examples: docs/simulator-scenarios.md. Unknown fields are errors.
/// </summary>
public sealed record Scenario
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    /// <summary>Permanent API keys accepted.</summary>
    public List<string>? ApiKeys { get; init; }

    /// <summary>Model constraints close sessions instead of warning.</summary>
    public bool? StrictConstraints { get; init; }

    /// <summary>The model's mean processing latency, ms.</summary>
    public int? ProcessingLatencyMs { get; init; }

    /// <summary>How far the processing latency varies either side of the mean, ms.</summary>
    public int? ProcessingJitterMs { get; init; }

    /// <summary>The model mode: <c>transform</c> (default) or <c>echo</c>.</summary>
    public Model.ModelMode? ModelMode { get; init; }

    /// <summary><c>generation_tick</c> interval, ms.</summary>
    public int? TickIntervalMs { get; init; }

    /// <summary>Largest WebSocket message, bytes.</summary>
    public int? MaxMessageBytes { get; init; }

    /// <summary>Largest image, bytes.</summary>
    public int? MaxImageBytes { get; init; }

    /// <summary>Prompt/image updates per second per session.</summary>
    public int? MaxUpdatesPerSecond { get; init; }

    /// <summary>Realtime sessions that may generate at once (<see cref="SimulatorOptions.MaxConcurrentSessions"/>).</summary>
    public int? MaxConcurrentSessions { get; init; }

    /// <summary>Write each session's received video to this folder.</summary>
    public string? RecordDirectory { get; init; }

    /// <summary>Realtime model overrides.</summary>
    public List<ScenarioModel>? Models { get; init; }

    /// <summary>Faults in force from the start.</summary>
    public List<Fault>? Faults { get; init; }

    /// <summary>Reads and validates a scenario file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The scenario.</returns>
    /// <exception cref="ScenarioException">When the file is missing, not JSON, has unknown fields or invalid values.</exception>
    public static Scenario Load(string path)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ScenarioException($"{path}: cannot read the scenario file: {ex.Message}", ex);
        }

        return Parse(text, path);
    }

    /// <summary>Parses and validates scenario JSON.</summary>
    /// <param name="json">The text.</param>
    /// <param name="source">Its name in messages.</param>
    /// <returns>The scenario.</returns>
    /// <exception cref="ScenarioException">When invalid.</exception>
    public static Scenario Parse(string json, string source = "scenario")
    {
        Scenario? scenario;
        try
        {
            scenario = JsonSerializer.Deserialize<Scenario>(json, Json);
        }
        catch (JsonException ex)
        {
            string where = ex.LineNumber is { } line ? $"line {line + 1}" : "?";
            string field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? string.Empty : $", field {ex.Path}";
            throw new ScenarioException($"{source} {where}{field}: {FirstSentence(ex.Message)}", ex);
        }

        if (scenario is null)
        {
            throw new ScenarioException($"{source}: the scenario must be a JSON object");
        }

        if (scenario.Validate() is { } problem)
        {
            throw new ScenarioException($"{source}: {problem}");
        }

        return scenario;
    }

    /// <summary>Applies the scenario to options (fields it sets replace the options').</summary>
    /// <param name="options">The options to change.</param>
    public void ApplyTo(SimulatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (ApiKeys is { Count: > 0 })
        {
            options.ApiKeys.AddRange(ApiKeys.Where(k => !options.ApiKeys.Contains(k)));
        }

        options.StrictConstraints = StrictConstraints ?? options.StrictConstraints;
        options.ProcessingLatency = ProcessingLatencyMs is { } latency ? TimeSpan.FromMilliseconds(latency) : options.ProcessingLatency;
        options.ProcessingJitter = ProcessingJitterMs is { } jitter ? TimeSpan.FromMilliseconds(jitter) : options.ProcessingJitter;
        options.ModelMode = ModelMode ?? options.ModelMode;
        options.TickInterval = TickIntervalMs is { } tick ? TimeSpan.FromMilliseconds(tick) : options.TickInterval;
        options.MaxMessageBytes = MaxMessageBytes ?? options.MaxMessageBytes;
        options.MaxImageBytes = MaxImageBytes ?? options.MaxImageBytes;
        options.MaxUpdatesPerSecond = MaxUpdatesPerSecond ?? options.MaxUpdatesPerSecond;
        options.MaxConcurrentSessions = MaxConcurrentSessions ?? options.MaxConcurrentSessions;
        options.RecordDirectory = RecordDirectory ?? options.RecordDirectory;
        foreach (var m in Models ?? [])
        {
            options.Models.Add(new SimulatedModel(m.Name, ModelKind.Realtime, m.Fps, m.MaxFps ?? m.Fps, m.Width, m.Height, InputRule.None));
        }

        options.Faults.AddRange(Faults ?? []);
    }

    private string? Validate()
    {
        if (ApiKeys?.FindIndex(string.IsNullOrWhiteSpace) is int badKey and >= 0)
        {
            return $"apiKeys[{badKey}]: must not be empty";
        }

        if (ProcessingLatencyMs is < 0 or > 60_000)
        {
            return "processingLatencyMs: must be 0..60000";
        }

        if (ProcessingJitterMs is < 0 or > 60_000)
        {
            return "processingJitterMs: must be 0..60000";
        }

        if (TickIntervalMs is < 10 or > 60_000)
        {
            return "tickIntervalMs: must be 10..60000";
        }

        if (MaxMessageBytes is < 1024)
        {
            return "maxMessageBytes: must be >= 1024";
        }

        if (MaxImageBytes is < 1)
        {
            return "maxImageBytes: must be > 0";
        }

        if (MaxUpdatesPerSecond is < 1)
        {
            return "maxUpdatesPerSecond: must be > 0";
        }

        if (MaxConcurrentSessions is < 1)
        {
            return "maxConcurrentSessions: must be > 0";
        }

        for (int i = 0; i < (Models?.Count ?? 0); i++)
        {
            var m = Models![i];
            string? problem = string.IsNullOrWhiteSpace(m.Name) ? "name: must not be empty"
                : m.Fps is < 1 or > 240 ? "fps: must be 1..240"
                : m.MaxFps is { } max && (max < m.Fps || max > 240) ? "maxFps: must be fps..240"
                : m.Width is < 16 or > 8192 ? "width: must be 16..8192"
                : m.Height is < 16 or > 8192 ? "height: must be 16..8192"
                : null;
            if (problem is not null)
            {
                return $"models[{i}].{problem}";
            }
        }

        for (int i = 0; i < (Faults?.Count ?? 0); i++)
        {
            var fault = Faults![i];
            if (fault.Validate() is { } problem)
            {
                return $"faults[{i}].{problem}";
            }

            if (fault.IsAction && fault.AfterSeconds is null && fault.AfterFrames is null)
            {
                return $"faults[{i}].afterSeconds: a {fault.Type} fault in a scenario needs afterSeconds or afterFrames (at start-up there is no session to act on)";
            }
        }

        return null;
    }

    private static string FirstSentence(string message)
    {
        int cut = message.IndexOf(". Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }
}
