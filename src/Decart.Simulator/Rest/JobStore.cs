using System.Collections.Concurrent;
using System.Security.Cryptography;

namespace Decart.Simulator.Rest;

/// <summary>A queued job of the simulator.</summary>
/// <param name="Id">Job id.</param>
/// <param name="Model">Model name.</param>
/// <param name="SubmittedAt">When it was submitted.</param>
/// <param name="Fails">Whether it ends failed.</param>
/// <param name="Result">The deterministic result bytes.</param>
public sealed record SimulatedJob(string Id, string Model, DateTimeOffset SubmittedAt, bool Fails, byte[] Result);

/// <summary>Jobs moving pending → processing → completed (or failed) on a schedule of the simulator's clock.</summary>
public sealed class JobStore
{
    private readonly ConcurrentDictionary<string, SimulatedJob> _jobs = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly TimeSpan _pending;
    private readonly TimeSpan _processing;

    /// <summary>Creates a store.</summary>
    /// <param name="time">Clock.</param>
    /// <param name="pending">Time spent pending.</param>
    /// <param name="processing">Time spent processing after that.</param>
    public JobStore(TimeProvider time, TimeSpan pending, TimeSpan processing)
    {
        _time = time;
        _pending = pending;
        _processing = processing;
    }

    /// <summary>All jobs.</summary>
    public IReadOnlyCollection<SimulatedJob> Jobs => _jobs.Values.ToArray();

    /// <summary>Adds a job.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="fails">Whether it ends failed.</param>
    /// <param name="result">Result bytes.</param>
    /// <returns>The job.</returns>
    public SimulatedJob Submit(string model, bool fails, byte[] result)
    {
        var job = new SimulatedJob("job_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), model, _time.GetUtcNow(), fails, result);
        _jobs[job.Id] = job;
        return job;
    }

    /// <summary>Finds a job.</summary>
    /// <param name="id">Its id.</param>
    /// <returns>It or null.</returns>
    public SimulatedJob? Find(string id) => _jobs.TryGetValue(id, out var job) ? job : null;

    /// <summary>The job's status now: <c>pending</c>, <c>processing</c>, <c>completed</c> or <c>failed</c>.</summary>
    /// <param name="job">The job.</param>
    /// <returns>The wire status.</returns>
    public string StatusOf(SimulatedJob job)
    {
        var age = _time.GetUtcNow() - job.SubmittedAt;
        if (age < _pending)
        {
            return "pending";
        }

        if (age < _pending + _processing)
        {
            return "processing";
        }

        return job.Fails ? "failed" : "completed";
    }
}
