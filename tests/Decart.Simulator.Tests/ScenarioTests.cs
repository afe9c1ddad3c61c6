using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Decart.Simulator.Faults;
using Decart.Simulator.Hosting;

namespace Decart.Simulator.Tests;

/// <summary>Scenario files: parsing, validation with clear messages, and the command line applying them.</summary>
public class ScenarioTests
{
    [Fact]
    public void A_full_scenario_applies_keys_strictness_models_and_faults()
    {
        var scenario = Scenario.Parse("""
            {
              // comments are allowed
              "apiKeys": ["k1"],
              "strictConstraints": true,
              "processingLatencyMs": 80,
              "tickIntervalMs": 500,
              "models": [ { "name": "my-model", "fps": 24, "width": 960, "height": 544 } ],
              "faults": [
                { "type": "latency", "latencyMs": 120, "jitterMs": 40, "target": "both" },
                { "type": "drop", "afterSeconds": 20, "mode": "websocket" },
              ],
            }
            """);
        var options = new SimulatorOptions();
        scenario.ApplyTo(options);
        Assert.Equal(["k1"], options.ApiKeys);
        Assert.True(options.StrictConstraints);
        Assert.Equal(TimeSpan.FromMilliseconds(80), options.ProcessingLatency);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.TickInterval);
        var model = Assert.Single(options.Models);
        Assert.Equal(("my-model", 24, 24, 960, 544), (model.Name, model.Fps, model.MaxFps, model.Width, model.Height));
        Assert.Equal([FaultType.Latency, FaultType.Drop], options.Faults.Select(f => f.Type));
        Assert.Equal(FaultTarget.Both, options.Faults[0].Target);
        Assert.Equal(DropMode.WebSocket, options.Faults[1].Mode);
    }

    [Theory]
    [InlineData("{\n  \"faults\": [\n    { \"type\": \"latency\", \"latncyMs\": 5 }\n  ]\n}", "line 3, field $.faults[0].latncyMs")]
    [InlineData("{\n  \"strictConstraints\": \"yes\"\n}", "line 2, field $.strictConstraints")]
    [InlineData("{ \"faults\": [ { \"type\": \"latency\", \"latencyMs\": 10, \"jitterMs\": 20 } ] }", "faults[0].jitterMs: must be 0..latencyMs")]
    [InlineData("{ \"faults\": [ { \"type\": \"drop\" } ] }", "faults[0].afterSeconds: a Drop fault in a scenario needs afterSeconds or afterFrames")]
    [InlineData("{ \"models\": [ { \"name\": \"m\", \"fps\": 0, \"width\": 960, \"height\": 544 } ] }", "models[0].fps: must be 1..240")]
    [InlineData("{ \"faults\": [ { \"type\": \"warp\" } ] }", "field $.faults[0].type")]
    [InlineData("{ \"tickIntervalMs\": 1", "line 1")]
    [InlineData("[]", "The JSON value could not be converted")]
    public void A_bad_scenario_names_the_line_or_field_and_why(string json, string expected)
    {
        var error = Assert.Throws<ScenarioException>(() => Scenario.Parse(json, "bad.json"));
        Assert.StartsWith("bad.json", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_command_line_rejects_a_bad_scenario_with_exit_code_2_and_runs_a_good_one()
    {
        var dir = Directory.CreateTempSubdirectory("scenario");
        try
        {
            var badFile = Path.Combine(dir.FullName, "bad.json");
            await File.WriteAllTextAsync(badFile, "{\n  \"faults\": [ { \"type\": \"loss\", \"lossPercent\": 500 } ]\n}");
            var (code, _, stderr) = await RunToExitAsync("--port", "0", "--scenario", badFile);
            Assert.Equal(2, code);
            Assert.Contains("bad.json: faults[0].lossPercent: must be in (0, 100]", stderr, StringComparison.Ordinal);

            var (missingCode, _, missingErr) = await RunToExitAsync("--port", "0", "--scenario", Path.Combine(dir.FullName, "none.json"));
            Assert.Equal(2, missingCode);
            Assert.Contains("cannot read the scenario file", missingErr, StringComparison.Ordinal);

            var goodFile = Path.Combine(dir.FullName, "good.json");
            await File.WriteAllTextAsync(goodFile, "{ \"apiKeys\": [\"scn_key\"], \"faults\": [ { \"type\": \"refuse\", \"count\": 3, \"error\": \"busy\" } ] }");
            var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var a in new[] { Path.Combine(AppContext.BaseDirectory, "Decart.Simulator.dll"), "--port", "0", "--scenario", goodFile })
            {
                info.ArgumentList.Add(a);
            }

            using var process = Process.Start(info)!;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                var first = (await process.StandardOutput.ReadLineAsync(timeout.Token))!;
                var url = first["Decart simulator listening on ".Length..];
                using var http = new HttpClient { BaseAddress = new Uri(url) };
                using var faults = JsonDocument.Parse(await http.GetStringAsync("/_sim/faults", timeout.Token));
                var fault = Assert.Single(faults.RootElement.EnumerateArray());
                Assert.Equal("refuse", fault.GetProperty("type").GetString());
                Assert.Equal(3, fault.GetProperty("count").GetInt32());
                var token = new HttpRequestMessage(HttpMethod.Post, "/v1/client/tokens") { Content = JsonContent.Create(new { }) };
                token.Headers.Add("X-API-KEY", "scn_key");
                Assert.True((await http.SendAsync(token, timeout.Token)).IsSuccessStatusCode);
            }
            finally
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunToExitAsync(params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Decart.Simulator.dll"));
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stdout = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var stderr = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
