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

/// <summary>
/// Jobs moving pending → processing → completed (or failed) on a schedule of the simulator's clock; bounded: a job is
/// forgotten <see cref="Retention"/> after it was submitted, and beyond <see cref="Capacity"/> jobs the oldest go.
/// </summary>
public sealed class JobStore
{
    private readonly BoundedStore<SimulatedJob> _jobs;
    private readonly TimeProvider _time;
    private readonly TimeSpan _pending;
    private readonly TimeSpan _processing;

    /// <summary>Creates a store.</summary>
    /// <param name="time">Clock.</param>
    /// <param name="pending">Time spent pending.</param>
    /// <param name="processing">Time spent processing after that.</param>
    /// <param name="retention">How long a job is kept after it was submitted (default 1 h).</param>
    /// <param name="capacity">Most jobs kept (default 1,000).</param>
    public JobStore(TimeProvider time, TimeSpan pending, TimeSpan processing, TimeSpan? retention = null, int capacity = 1_000)
    {
        _time = time;
        _pending = pending;
        _processing = processing;
        _jobs = new BoundedStore<SimulatedJob>(j => j.SubmittedAt, time, retention ?? TimeSpan.FromHours(1), capacity);
    }

    /// <summary>How long a job is kept after it was submitted.</summary>
    public TimeSpan Retention => _jobs.Retention;

    /// <summary>Most jobs kept.</summary>
    public int Capacity => _jobs.Capacity;

    /// <summary>All jobs (not yet forgotten).</summary>
    public IReadOnlyCollection<SimulatedJob> Jobs => _jobs.Values.ToArray();

    /// <summary>Adds a job.</summary>
    /// <param name="model">Model name.</param>
    /// <param name="fails">Whether it ends failed.</param>
    /// <param name="result">Result bytes.</param>
    /// <returns>The job.</returns>
    public SimulatedJob Submit(string model, bool fails, byte[] result)
    {
        var job = new SimulatedJob("job_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8)), model, _time.GetUtcNow(), fails, result);
        _jobs.Add(job.Id, job);
        return job;
    }

    /// <summary>Finds a job.</summary>
    /// <param name="id">Its id.</param>
    /// <returns>It or null.</returns>
    public SimulatedJob? Find(string id) => _jobs.TryGet(id, out var job) ? job : null;

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
