using System.Diagnostics;
using System.Net;

namespace Decart.Simulator.Tests;

/// <summary>Runs the built simulator as a separate process, as a user would from the command line.</summary>
public class CommandLineTests
{
    private static string SimulatorDll => Path.Combine(AppContext.BaseDirectory, "Decart.Simulator.dll");

    private static Process Start(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(SimulatorDll);
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        return Process.Start(info)!;
    }

    [Fact]
    public async Task Standalone_prints_its_url_and_key_serves_requests_and_stops_cleanly_on_SIGTERM()
    {
        using var process = Start("--port", "0", "--api-key", "cli_key_1", "--api-key", "cli_key_2");
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var first = await process.StandardOutput.ReadLineAsync(timeout.Token);
            Assert.NotNull(first);
            Assert.Matches(@"^Decart simulator listening on http://127\.0\.0\.1:\d+$", first);
            var url = first["Decart simulator listening on ".Length..];
            var lines = new List<string>();
            for (int i = 0; i < 3; i++)
            {
                lines.Add((await process.StandardOutput.ReadLineAsync(timeout.Token))!);
            }

            Assert.Contains(lines, l => l.StartsWith("Realtime: ws://127.0.0.1:", StringComparison.Ordinal));
            // What to paste into DecartClientOptions: the REST root and the realtime root (not its /v1/stream URL).
            string port = url[(url.LastIndexOf(':') + 1)..];
            Assert.Contains($"DecartClientOptions: BaseUrl = new Uri(\"http://127.0.0.1:{port}\"), RealtimeBaseUrl = new Uri(\"ws://127.0.0.1:{port}\")", lines);
            Assert.Contains("API key: cl*** (9 characters), cl*** (9 characters)", lines);
            Assert.DoesNotContain(lines, l => l.Contains("cli_key_", StringComparison.Ordinal));

            using var http = new HttpClient();
            var request = new HttpRequestMessage(HttpMethod.Post, $"{url}/v1/client/tokens");
            request.Headers.Add("X-API-KEY", "cli_key_2");
            using var response = await http.SendAsync(request, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);

            Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            await process.WaitForExitAsync(timeout.Token);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
    }

    [Theory]
    [InlineData("--port", "abc")]
    [InlineData("--port", "70000")]
    [InlineData("--port")]
    [InlineData("--api-key")]
    [InlineData("--frobnicate")]
    [InlineData("--capacity", "0")]
    [InlineData("--capacity", "lots")]
    public async Task Bad_arguments_exit_2_with_a_message(params string[] args)
    {
        using var process = Start(args);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(2, process.ExitCode);
        Assert.StartsWith("error: ", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_exits_1_with_a_message()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var process = Start("--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stderr = await process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        Assert.Equal(1, process.ExitCode);
        Assert.Contains("could not listen", stderr, StringComparison.Ordinal);
    }
}
