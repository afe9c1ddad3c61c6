using Decart.Sdk.Http;
using Decart.Sdk.Models;
using Decart.Simulator.Hosting;
using Microsoft.Extensions.Time.Testing;

#pragma warning disable CS0618 // retired and deprecated model names on purpose: the simulator still serves them

namespace Decart.Sdk.Tests.Http;

/// <summary>The SDK against the embedded simulator over real HTTP on loopback.</summary>
public sealed class SimulatorIntegrationTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private DecartSimulator _sim = null!;
    private DecartClient _client = null!;

    public async Task InitializeAsync()
    {
        _sim = await DecartSimulator.StartAsync(new SimulatorOptions
        {
            ApiKeys = ["sk_integration_key_123"],
            TimeProvider = _time,
            JobPendingFor = TimeSpan.FromSeconds(1),
            JobProcessingFor = TimeSpan.FromSeconds(1),
            FailJobsForModels = ["lucy-motion"],
        });
        _client = NewClient("sk_integration_key_123");
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _sim.DisposeAsync();
    }

    private DecartClient NewClient(string key) => new(new DecartClientOptions { ApiKey = key, BaseUrl = _sim.BaseUrl, RealtimeBaseUrl = _sim.RealtimeBaseUrl, Timeout = TimeSpan.FromSeconds(20) });

    private static FileInput Video => FileInput.FromBytes(new byte[] { 0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70 }, "in.mp4");

    [Fact]
    public async Task Generate_returns_the_simulators_png()
    {
        var result = await _client.Process.GenerateAsync(ImageModels.LucyProI2I, new GenerationInput { Prompt = "Anime", Data = FileInput.FromBytes(new byte[] { 1, 2, 3 }, "in.png"), Seed = 7, Resolution = "720p", EnhancePrompt = false });
        Assert.Equal("image/png", result.ContentType);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, result.Data[..4]);
    }

    [Fact]
    public async Task Queue_submit_poll_and_download_with_progress_in_order()
    {
        var seen = new List<JobStatus>();
        var changes = new List<JobStatus>();
        var run = _client.Queue.SubmitAndPollAsync(VideoModels.LucyProV2V, new GenerationInput { Prompt = "Anime", Data = Video }, new QueuePollOptions
        {
            PollInterval = TimeSpan.FromMilliseconds(500),
            Progress = new SyncProgress<JobInfo>(j => { lock (seen) { seen.Add(j.Status); } }),
            OnStatusChange = j => changes.Add(j.Status),
            TimeProvider = _time,
        });
        while (!run.IsCompleted)
        {
            _time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Delay(5);
        }

        var result = await run;
        Assert.Equal("video/mp4", result.ContentType);
        Assert.True(result.Data.Length > 100);
        Assert.Equal([JobStatus.Pending, JobStatus.Processing, JobStatus.Completed], changes);
        Assert.Equal(JobStatus.Completed, seen[^1]);
        Assert.True(seen.Count >= 3);
    }

    [Fact]
    public async Task Result_before_completion_is_JOB_NOT_COMPLETED_then_downloads()
    {
        var job = await _client.Queue.SubmitAsync(VideoModels.LucyProV2V, new GenerationInput { Prompt = "x", Data = Video });
        Assert.Equal(JobStatus.Pending, job.Status);
        var early = await Assert.ThrowsAsync<DecartException>(() => _client.Queue.GetResultAsync(job.JobId));
        Assert.Equal(DecartErrorCode.JobNotCompleted, early.Code);
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal(JobStatus.Completed, (await _client.Queue.GetStatusAsync(job.JobId)).Status);
        Assert.NotEmpty((await _client.Queue.GetResultAsync(job.JobId)).Data);
    }

    [Fact]
    public async Task A_failed_job_is_PROCESSING_ERROR()
    {
        var run = _client.Queue.SubmitAndPollAsync(VideoModels.LucyMotion, new GenerationInput { Data = FileInput.FromBytes(new byte[] { 1 }, "a.png") }, new QueuePollOptions { PollInterval = TimeSpan.FromSeconds(1), TimeProvider = _time });
        while (!run.IsCompleted)
        {
            _time.Advance(TimeSpan.FromMilliseconds(500));
            await Task.Delay(5);
        }

        Assert.Equal(DecartErrorCode.ProcessingError, (await Assert.ThrowsAsync<DecartException>(() => run)).Code);
    }

    [Fact]
    public async Task Unknown_job_status_is_QUEUE_STATUS_ERROR_with_the_HTTP_status()
    {
        var ex = await Assert.ThrowsAsync<DecartException>(() => _client.Queue.GetStatusAsync("job_missing"));
        Assert.Equal(DecartErrorCode.QueueStatusError, ex.Code);
        Assert.Equal(System.Net.HttpStatusCode.NotFound, ex.StatusCode);
        Assert.Contains("not found", ex.ServerMessage!, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Tokens_round_trip_every_option_and_the_token_works_as_a_key_until_it_expires()
    {
        var token = await _client.Tokens.CreateAsync(new CreateTokenOptions
        {
            ExpiresIn = 30,
            AllowedModels = ["lucy-pro-t2i"],
            AllowedOrigins = ["https://example.com"],
            Constraints = new TokenConstraints { Realtime = new RealtimeTokenConstraints { MaxSessionDuration = 120 } },
            Metadata = new System.Text.Json.Nodes.JsonObject { ["role"] = "viewer" },
        });
        Assert.StartsWith("ek_", token.ApiKey, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow().AddSeconds(30), token.ExpiresAt);
        Assert.Equal(["lucy-pro-t2i"], token.Permissions!.Models);
        Assert.Equal(["https://example.com"], token.Permissions.Origins);
        Assert.Equal(120, token.Constraints!.Realtime!.MaxSessionDuration);
        Assert.DoesNotContain(token.ApiKey, token.ToString(), StringComparison.Ordinal);

        using var tokenClient = NewClient(token.ApiKey);
        var image = await tokenClient.Process.GenerateAsync(ImageModels.LucyProT2I, new GenerationInput { Prompt = "a cat" });
        Assert.NotEmpty(image.Data);
        var notAllowed = await Assert.ThrowsAsync<DecartException>(() => tokenClient.Process.GenerateAsync(ImageModels.LucyProI2I, new GenerationInput { Prompt = "a cat", Data = FileInput.FromBytes(new byte[] { 1 }, "a.png") }));
        Assert.Equal(DecartErrorCode.InvalidApiKey, notAllowed.Code); // 403 permission denied

        _time.Advance(TimeSpan.FromSeconds(31));
        var expired = await Assert.ThrowsAsync<DecartException>(() => tokenClient.Process.GenerateAsync(ImageModels.LucyProT2I, new GenerationInput { Prompt = "a cat" }));
        Assert.Equal(DecartErrorCode.InvalidApiKey, expired.Code);
        Assert.DoesNotContain(token.ApiKey, expired.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_token_cannot_create_tokens()
    {
        var token = await _client.Tokens.CreateAsync();
        using var tokenClient = NewClient(token.ApiKey);
        Assert.Equal(DecartErrorCode.InvalidApiKey, (await Assert.ThrowsAsync<DecartException>(() => tokenClient.Tokens.CreateAsync())).Code);
    }

    [Fact]
    public async Task Wrong_key_is_INVALID_API_KEY_on_every_endpoint_and_never_printed()
    {
        using var bad = NewClient("sk_wrong_key_987654");
        var calls = new Func<Task>[]
        {
            () => bad.Process.GenerateAsync(ImageModels.LucyProT2I, new GenerationInput { Prompt = "x" }),
            () => bad.Queue.SubmitAsync(VideoModels.LucyProT2V, new GenerationInput { Prompt = "x" }),
            () => bad.Queue.GetStatusAsync("job_x"),
            () => bad.Tokens.CreateAsync(),
        };
        foreach (var call in calls)
        {
            var ex = await Assert.ThrowsAsync<DecartException>(call);
            Assert.Equal(DecartErrorCode.InvalidApiKey, ex.Code);
            Assert.Equal(System.Net.HttpStatusCode.Unauthorized, ex.StatusCode);
            Assert.DoesNotContain("sk_wrong_key_987654", ex.ToString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_custom_model_unknown_to_the_server_is_MODEL_NOT_FOUND()
    {
        var custom = new ImageModel("lucy-imaginary", 512, 512, GenerationKind.TextTo);
        Assert.Equal(DecartErrorCode.ModelNotFound, (await Assert.ThrowsAsync<DecartException>(() => _client.Process.GenerateAsync(custom, new GenerationInput { Prompt = "x" }))).Code);
        var customVideo = new VideoModel("lucy-imaginary-v2v", 25, 512, 512, GenerationKind.TextTo);
        Assert.Equal(DecartErrorCode.ModelNotFound, (await Assert.ThrowsAsync<DecartException>(() => _client.Queue.SubmitAsync(customVideo, new GenerationInput { Prompt = "x" }))).Code);
    }

    [Fact]
    public async Task Server_side_validation_surfaces_as_the_operations_code_with_the_field()
    {
        // The SDK validates first; a custom model with looser rules lets the server's own check answer.
        var loose = new VideoModel("lucy-pro-v2v", 25, 1280, 704, GenerationKind.Motion);
        var ex = await Assert.ThrowsAsync<DecartException>(() => _client.Queue.SubmitAsync(loose, new GenerationInput { Data = Video }));
        Assert.Equal(DecartErrorCode.QueueSubmitError, ex.Code);
        Assert.Equal(System.Net.HttpStatusCode.BadRequest, ex.StatusCode);
        Assert.Contains("prompt", ex.Message, StringComparison.Ordinal);
    }

    private sealed class SyncProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
