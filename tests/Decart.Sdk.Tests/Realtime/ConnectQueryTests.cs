using Decart.Sdk.Models;
using Decart.Sdk.Realtime;
using static Decart.Sdk.Tests.Realtime.RealtimeTestKit;

namespace Decart.Sdk.Tests.Realtime;

/// <summary><see cref="RealtimeConnectOptions.Resolution"/> and <see cref="RealtimeConnectOptions.QueryParameters"/> on the realtime URL.</summary>
public class ConnectQueryTests
{
    [Theory]
    [InlineData(RealtimeTransport.LiveKit)]
    [InlineData(RealtimeTransport.Direct)]
    public async Task The_resolution_and_extra_parameters_reach_the_server_and_the_sdks_own_win(RealtimeTransport transport)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var log = new StateLog();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Transport = transport,
            OnConnectionChanged = log.Add,
            Resolution = "1080p",
            QueryParameters = new Dictionary<string, string> { ["feature"] = "a b&c=d", ["region"] = "eu" },
        };
        await using var rt = await client.Realtime.ConnectAsync(source, options);
        await log.WaitForAsync(ConnectionState.Generating);
        var session = sim.Sessions.Find(rt.SessionId!)!;
        Assert.Equal("1080p", session.Resolution);
        Assert.Equal("1080p", session.Describe().Resolution);
        Assert.Equal("a b&c=d", session.QueryParameters["feature"]); // escaped on the way, intact on arrival
        Assert.Equal("eu", session.QueryParameters["region"]);
        Assert.Equal("lucy-2.1", session.QueryParameters["model"]);
        Assert.StartsWith("decart-dotnet-sdk/", session.QueryParameters["user_agent"], StringComparison.Ordinal);
        Assert.False(session.QueryParameters.ContainsKey("api_key"));
    }

    public static TheoryData<string?, string[]> BadOptions => new()
    {
        { "4k", [] },
        { "720P", [] },
        { "", [] },
        { null, ["api_key"] },
        { null, ["MODEL"] },
        { null, ["resolution"] },
        { null, ["user_agent"] },
        { null, [""] },
        { null, [new string('k', 65)] },
        { null, Enumerable.Range(0, 33).Select(i => "p" + i).ToArray() },
    };

    [Theory]
    [MemberData(nameof(BadOptions))]
    public async Task A_bad_resolution_or_query_parameter_is_InvalidOptions_before_any_connection(string? resolution, string[] names)
    {
        await using var sim = await StartSimulatorAsync();
        using var client = Client(sim);
        await using var source = await SourceAsync();
        var options = new RealtimeConnectOptions
        {
            Model = RealtimeModels.Lucy21,
            Resolution = resolution,
            QueryParameters = names.Length == 0 ? null : names.ToDictionary(n => n, _ => "x"),
        };
        var ex = await Assert.ThrowsAsync<DecartException>(() => client.Realtime.ConnectAsync(source, options));
        Assert.Equal(DecartErrorCode.InvalidOptions, ex.Code);
        Assert.Equal(0, sim.Sessions.TotalStarted + sim.Sessions.TotalRefused);
    }

    [Fact]
    public async Task The_simulator_refuses_a_resolution_it_does_not_know()
    {
        await using var sim = await StartSimulatorAsync();
        using var ws = new System.Net.WebSockets.ClientWebSocket();
        await ws.ConnectAsync(new Uri(sim.RealtimeBaseUrl, $"/v1/stream?api_key={sim.DefaultApiKey}&model=lucy-2.1&resolution=8k"), CancellationToken.None);
        var buffer = new byte[4096];
        var result = await ws.ReceiveAsync(buffer, new CancellationTokenSource(TimeSpan.FromSeconds(15)).Token);
        string text = System.Text.Encoding.UTF8.GetString(buffer, 0, result.Count);
        Assert.Contains("\"type\":\"error\"", text, StringComparison.Ordinal);
        Assert.Contains("Invalid resolution: 8k", text, StringComparison.Ordinal);
        Assert.Equal(1, sim.Sessions.TotalRefused);
    }
}
