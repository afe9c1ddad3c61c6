using Decart.Sdk.Models;

namespace Decart.Sdk.Http;

/// <summary>How <see cref="QueueClient.SubmitAndPollAsync"/> polls.</summary>
public sealed record QueuePollOptions
{
    /// <summary>Time between status requests. Default 1.5 s.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(1.5);

    /// <summary>Receives every status the job reports, including repeats.</summary>
    public IProgress<JobInfo>? Progress { get; init; }

    /// <summary>Called when the job's status changes (once per new status).</summary>
    public Action<JobInfo>? OnStatusChange { get; init; }

    /// <summary>The clock the poll waits on (tests pass a fake one). Default: the system clock.</summary>
    public TimeProvider? TimeProvider { get; init; }
}

/// <summary>Queued generation (video models, and image models on the queue): <c>/v1/jobs</c>.</summary>
public sealed class QueueClient
{
    private readonly DecartHttp _http;

    internal QueueClient(DecartHttp http) => _http = http;

    /// <summary>Submits a job.</summary>
    /// <param name="model">A video or image model.</param>
    /// <param name="input">The inputs; validated before the request.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The job's id and first status.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.InvalidInput"/>, <see cref="DecartErrorCode.InvalidApiKey"/>,
    /// <see cref="DecartErrorCode.ModelNotFound"/> or <see cref="DecartErrorCode.QueueSubmitError"/>.</exception>
    public Task<JobInfo> SubmitAsync(ModelDefinition model, GenerationInput input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(model);
        InputValidator.Validate(model, input);
        _http.WarnIfDeprecated(model);
        string path = model is ImageModel image ? image.QueueUrlPath : model.UrlPath;
        return _http.SendForJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Post, _http.Url(path)) { Content = Multipart.Build(input) },
            DecartJsonContext.Default.JobInfo,
            DecartErrorCode.QueueSubmitError,
            $"submit a {model.Name} job",
            cancellationToken);
    }

    /// <summary>Reads a job's status.</summary>
    /// <param name="jobId">The id <see cref="SubmitAsync"/> returned.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The status.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.QueueStatusError"/> (or <see cref="DecartErrorCode.InvalidApiKey"/>).</exception>
    public Task<JobInfo> GetStatusAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var id = CheckId(jobId);
        return _http.SendForJsonAsync(
            () => new HttpRequestMessage(HttpMethod.Get, _http.Url($"/v1/jobs/{id}")),
            DecartJsonContext.Default.JobInfo,
            DecartErrorCode.QueueStatusError,
            "read the job status",
            cancellationToken);
    }

    /// <summary>Downloads a completed job's result.</summary>
    /// <param name="jobId">The job.</param>
    /// <param name="cancellationToken">Cancels the request.</param>
    /// <returns>The result bytes.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.JobNotCompleted"/> when the job has not completed
    /// (checked first), else <see cref="DecartErrorCode.QueueResultError"/>.</exception>
    public async Task<JobResult> GetResultAsync(string jobId, CancellationToken cancellationToken = default)
    {
        var status = await GetStatusAsync(jobId, cancellationToken).ConfigureAwait(false);
        if (status.Status != JobStatus.Completed)
        {
            throw new DecartException(DecartErrorCode.JobNotCompleted, $"job {status.JobId} is {status.Status.ToString().ToLowerInvariant()}, not completed.");
        }

        return await DownloadAsync(status.JobId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Submits a job, polls until it completes or fails, and downloads the result.</summary>
    /// <param name="model">A video or image model.</param>
    /// <param name="input">The inputs.</param>
    /// <param name="poll">Polling settings and progress callbacks.</param>
    /// <param name="cancellationToken">Stops polling (the job itself keeps running on the service).</param>
    /// <returns>The result.</returns>
    /// <exception cref="DecartException"><see cref="DecartErrorCode.ProcessingError"/> when the job fails; the codes of the individual calls otherwise.</exception>
    public async Task<JobResult> SubmitAndPollAsync(ModelDefinition model, GenerationInput input, QueuePollOptions? poll = null, CancellationToken cancellationToken = default)
    {
        poll ??= new QueuePollOptions();
        if (poll.PollInterval <= TimeSpan.Zero)
        {
            throw new DecartException(DecartErrorCode.InvalidOptions, "poll interval must be positive.");
        }

        var time = poll.TimeProvider ?? TimeProvider.System;
        var job = await SubmitAsync(model, input, cancellationToken).ConfigureAwait(false);
        JobStatus? last = null;
        while (true)
        {
            poll.Progress?.Report(job);
            if (job.Status != last)
            {
                last = job.Status;
                poll.OnStatusChange?.Invoke(job);
            }

            switch (job.Status)
            {
                case JobStatus.Completed:
                    return await DownloadAsync(job.JobId, cancellationToken).ConfigureAwait(false);
                case JobStatus.Failed:
                    throw new DecartException(DecartErrorCode.ProcessingError, $"job {job.JobId} failed.");
            }

            await Task.Delay(poll.PollInterval, time, cancellationToken).ConfigureAwait(false);
            job = await GetStatusAsync(job.JobId, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task<JobResult> DownloadAsync(string jobId, CancellationToken cancellationToken)
    {
        var id = CheckId(jobId);
        var (body, type) = await _http.SendForBytesAsync(
            () => new HttpRequestMessage(HttpMethod.Get, _http.Url($"/v1/jobs/{id}/content")),
            DecartErrorCode.QueueResultError,
            "download the job result",
            cancellationToken).ConfigureAwait(false);
        return new JobResult(jobId, body, type);
    }

    private static string CheckId(string jobId)
    {
        if (string.IsNullOrWhiteSpace(jobId))
        {
            throw new DecartException(DecartErrorCode.InvalidInput, "jobId: is required.");
        }

        return Uri.EscapeDataString(jobId);
    }
}
