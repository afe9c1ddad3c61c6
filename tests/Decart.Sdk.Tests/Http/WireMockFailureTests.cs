using System.Diagnostics;
using System.Net;
using Decart.Sdk.Http;
using Decart.Sdk.Models;
using WireMock.RequestBuilders;
using WireMock.ResponseBuilders;
using WireMock.Server;

#pragma warning disable CS0618 // retired and deprecated model names on purpose: the simulator still serves them

namespace Decart.Sdk.Tests.Http;

/// <summary>What the simulator does not do: broken and slow servers, via WireMock.Net on loopback.</summary>
public sealed class WireMockFailureTests : IDisposable
{
    private const string Key = "sk_wiremock_key_4567";
    private readonly WireMockServer _server = WireMockServer.Start();

    public void Dispose() => _server.Stop();

    private DecartClient Client(TimeSpan? timeout = null) => new(new DecartClientOptions { ApiKey = Key, BaseUrl = new Uri(_server.Url!), Timeout = timeout ?? TimeSpan.FromSeconds(10), Integration = "tests/1.0" });

    private void Stub(string path, Func<IResponseBuilder, IResponseBuilder> response, string method = "POST") =>
        _server.Given(Request.Create().WithPath(path).UsingMethod(method)).RespondWith(response(Response.Create()));

    private static Task<ClientToken> CreateToken(DecartClient c, CancellationToken ct = default) => c.Tokens.CreateAsync(null, ct);

    [Fact]
    public async Task Requests_carry_the_key_header_the_user_agent_and_the_documented_body()
    {
        Stub("/v1/client/tokens", r => r.WithStatusCode(200).WithBody("""{"apiKey":"ek_abc","expiresAt":"2026-11-25T12:01:00Z"}"""));
        using var client = Client();
        await client.Tokens.CreateAsync(new CreateTokenOptions { ExpiresIn = 90, AllowedModels = ["lucy-2.1"] });
        var request = _server.LogEntries.Single().RequestMessage;
        Assert.Equal(Key, request.Headers!["X-API-KEY"].Single());
        Assert.Matches(@"^decart-dotnet-sdk/\d+\.\d+\.\d+ lang/dotnet tests/1\.0 runtime/dotnet/\d+", request.Headers["User-Agent"].Single());
        Assert.Equal("""{"expiresIn":90,"allowedModels":["lucy-2.1"]}""", request.Body);
    }

    [Fact]
    public async Task Multipart_fields_are_the_wire_names()
    {
        Stub("/v1/jobs/lucy-restyle-v2v", r => r.WithStatusCode(200).WithBody("""{"job_id":"j1","status":"pending"}"""));
        using var client = Client();
        var job = await client.Queue.SubmitAsync(VideoModels.LucyRestyleV2V, new GenerationInput { Prompt = "Anime", Seed = 3, Resolution = "720p", EnhancePrompt = true, Data = FileInput.FromBytes(new byte[] { 1, 2 }, "clip.mp4") });
        Assert.Equal(new JobInfo("j1", JobStatus.Pending), job);
        var body = _server.LogEntries.Single().RequestMessage.Body!;
        foreach (var field in new[] { "name=prompt", "name=seed", "name=resolution", "name=enhance_prompt", "name=data; filename=clip.mp4" })
        {
            Assert.Contains(field, body, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData(500)]
    [InlineData(502)]
    [InlineData(503)]
    [InlineData(429)]
    public async Task Server_errors_are_typed_with_status_and_body(int status)
    {
        Stub("/v1/client/tokens", r => r.WithStatusCode(status).WithBody($$"""{"error":"upstream said {{status}} for key {{Key}}"}"""));
        using var client = Client();
        var ex = await Assert.ThrowsAsync<DecartException>(() => CreateToken(client));
        Assert.Equal(DecartErrorCode.TokenCreateError, ex.Code);
        Assert.Equal((HttpStatusCode)status, ex.StatusCode);
        Assert.Contains($"upstream said {status}", ex.ServerMessage!, StringComparison.Ordinal);
        Assert.DoesNotContain(Key, ex.ToString(), StringComparison.Ordinal); // echoed key is redacted
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("[]")]
    [InlineData("null")]
    [InlineData("""{"job_id":"j","status":"exploded"}""")]
    [InlineData("""{"job_id":5,"status":"pending"}""")]
    public async Task Malformed_json_is_the_operations_code_not_a_JsonException(string body)
    {
        Stub("/v1/jobs/j", r => r.WithStatusCode(200).WithBody(body), "GET");
        using var client = Client();
        var ex = await Assert.ThrowsAsync<DecartException>(() => client.Queue.GetStatusAsync("j"));
        Assert.Equal(DecartErrorCode.QueueStatusError, ex.Code);
    }

    [Fact]
    public async Task A_slow_response_beyond_the_timeout_is_a_typed_error_not_a_hang()
    {
        Stub("/v1/client/tokens", r => r.WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(2)).WithBody("""{"apiKey":"ek_x","expiresAt":"2026-11-25T12:01:00Z"}"""));
        using var client = Client(TimeSpan.FromMilliseconds(300));
        var ex = await Assert.ThrowsAsync<DecartException>(() => CreateToken(client)).WaitAsync(TimeSpan.FromSeconds(4));
        Assert.Equal(DecartErrorCode.TokenCreateError, ex.Code);
        Assert.IsAssignableFrom<OperationCanceledException>(ex.InnerException);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_connection_reset_mid_body_is_a_typed_error(bool chunked)
    {
        // WireMock.Net cannot cut a connection half-way through a body, so a raw TCP server does it: it sends
        // the headers and part of the body, then resets the socket (RST).
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var serve = Task.Run(async () =>
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync();
                var buffer = new byte[8192];
                while (true)
                {
                    int n = await socket.ReceiveAsync(buffer);
                    if (n == 0)
                    {
                        break;
                    }

                    var request = System.Text.Encoding.ASCII.GetString(buffer, 0, n);
                    if (!request.StartsWith("GET /v1/jobs/j/content", StringComparison.Ordinal))
                    {
                        await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 35\r\n\r\n{\"job_id\":\"j\",\"status\":\"completed\"}"));
                        continue;
                    }

                    string head = chunked
                        ? "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: video/mp4\r\n\r\n4000\r\n"
                        : "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nContent-Type: video/mp4\r\n\r\n";
                    await socket.SendAsync(System.Text.Encoding.ASCII.GetBytes(head + new string('x', 1000)));
                    await Task.Delay(100);
                    socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                    socket.Close();
                    return;
                }
            }
        });
        using var client = new DecartClient(new DecartClientOptions { ApiKey = Key, BaseUrl = new Uri($"http://127.0.0.1:{((IPEndPoint)listener.LocalEndpoint).Port}"), Timeout = TimeSpan.FromSeconds(10) });
        var ex = await Assert.ThrowsAsync<DecartException>(() => client.Queue.GetResultAsync("j")).WaitAsync(TimeSpan.FromSeconds(15));
        Assert.Equal(DecartErrorCode.QueueResultError, ex.Code);
        Assert.True(ex.InnerException is HttpRequestException or IOException, ex.InnerException?.GetType().Name);
        await serve.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task Nothing_listening_is_a_typed_error()
    {
        int port;
        using (var l = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0))
        {
            l.Start();
            port = ((IPEndPoint)l.LocalEndpoint).Port;
        }

        using var client = new DecartClient(new DecartClientOptions { ApiKey = Key, BaseUrl = new Uri($"http://127.0.0.1:{port}") });
        var ex = await Assert.ThrowsAsync<DecartException>(() => CreateToken(client)).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(DecartErrorCode.TokenCreateError, ex.Code);
        Assert.IsType<HttpRequestException>(ex.InnerException);
    }

    [Fact]
    public async Task Cancellation_is_honoured_promptly_and_surfaces_as_OperationCanceledException()
    {
        Stub("/v1/client/tokens", r => r.WithStatusCode(200).WithDelay(TimeSpan.FromSeconds(3)).WithBody("{}"));
        using var client = Client(TimeSpan.FromMinutes(1));
        using var cts = new CancellationTokenSource();
        var call = CreateToken(client, cts.Token);
        await Task.Delay(200);
        var watch = Stopwatch.StartNew();
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call).WaitAsync(TimeSpan.FromSeconds(5));
        watch.Stop();
        // Reported, not asserted as a timing: the bounded WaitAsync above is what guarantees no hang.
        Console.WriteLine($"cancellation observed after {watch.Elapsed.TotalMilliseconds:F1} ms");
    }

    [Fact]
    public async Task Polling_is_cancellable_between_polls()
    {
        Stub("/v1/jobs/lucy-pro-t2v", r => r.WithStatusCode(200).WithBody("""{"job_id":"slow","status":"pending"}"""));
        Stub("/v1/jobs/slow", r => r.WithStatusCode(200).WithBody("""{"job_id":"slow","status":"processing"}"""), "GET");
        using var client = Client();
        using var cts = new CancellationTokenSource();
        var call = client.Queue.SubmitAndPollAsync(VideoModels.LucyProT2V, new GenerationInput { Prompt = "x" }, new QueuePollOptions { PollInterval = TimeSpan.FromMilliseconds(50) }, cts.Token);

        // Cancelled once it has polled twice (the submit and two polls seen by the server), however long those took.
        var until = DateTime.UtcNow.AddSeconds(10);
        while (_server.LogEntries.Count() < 3 && !call.IsCompleted && DateTime.UtcNow < until)
        {
            await Task.Delay(10);
        }

        Assert.True(_server.LogEntries.Count() >= 3, $"{_server.LogEntries.Count()} requests before the cancel");
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Http_401_and_403_are_INVALID_API_KEY_and_404_on_a_model_path_is_MODEL_NOT_FOUND()
    {
        Stub("/v1/generate/lucy-pro-t2i", r => r.WithStatusCode(403).WithBody("permission denied"));
        Stub("/v1/jobs/lucy-pro-t2v", r => r.WithStatusCode(404).WithBody("""{"error":"Model lucy-pro-t2v not found"}"""));
        using var client = Client();
        Assert.Equal(DecartErrorCode.InvalidApiKey, (await Assert.ThrowsAsync<DecartException>(() => client.Process.GenerateAsync(ImageModels.LucyProT2I, new GenerationInput { Prompt = "x" }))).Code);
        var notFound = await Assert.ThrowsAsync<DecartException>(() => client.Queue.SubmitAsync(VideoModels.LucyProT2V, new GenerationInput { Prompt = "x" }));
        Assert.Equal(DecartErrorCode.ModelNotFound, notFound.Code);
        Assert.Contains("Model lucy-pro-t2v not found", notFound.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_input_is_rejected_before_any_request()
    {
        using var client = Client();
        var ex = await Assert.ThrowsAsync<DecartException>(() => client.Process.GenerateAsync(ImageModels.LucyProI2I, new GenerationInput { Prompt = "x" }));
        Assert.Equal(DecartErrorCode.InvalidInput, ex.Code);
        Assert.StartsWith("data:", ex.Message, StringComparison.Ordinal);
        Assert.Empty(_server.LogEntries);
    }
}
