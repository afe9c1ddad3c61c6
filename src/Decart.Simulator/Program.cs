using Decart.Simulator.Hosting;

namespace Decart.Simulator;

/// <summary>Command line: <c>decart-sim --port 7777 --api-key sim_test_key</c> (the tool), or <c>dotnet run --project src/Decart.Simulator -- …</c>.</summary>
internal static class Program
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 7777;

    private const string Usage = """
        Decart simulator: a local fake Decart server for integration tests.

        Usage: decart-sim [--port N] [--host ADDRESS] [--api-key KEY]... [--scenario FILE]
                          [--strict] [--latency MS] [--jitter MS] [--model-mode transform|echo]
                          [--record DIR] [--cors-origin ORIGIN]... [--capacity N] [--room-v0]
                          [--verbose]

          --port N          port to listen on (default 7777; 0 picks a free port)
          --host ADDRESS    address to bind (default 127.0.0.1, loopback only)
          --api-key KEY     an API key to accept (repeatable; default: sim_dev_key)
          --scenario FILE   keys, faults, model overrides and strictness from a JSON file
                            (format: docs/simulator-scenarios.md)
          --strict          close realtime sessions whose video breaks the model's size/fps
          --latency MS      the model's processing latency (default 30)
          --jitter MS       the latency varies by up to this much either way (default 0)
          --model-mode M    transform (default: decode, draw the state and a stamp,
                            encode) or echo (the received bitstream back; load tests)
          --negotiation-timeout S  end sessions whose media has not connected after S
                            seconds (default 30; 0: never)
          --record DIR      write what each realtime session received to DIR/{session}.ivf
          --capacity N      at most N realtime sessions generate at once; the next wait in a queue
                            and are told their place (queue_position). Default: unlimited
          --room-v0         the room server answers only LiveKit's older two-connection path /rtc
                            (/rtc/v1 gets 404, as before LiveKit 1.9); clients fall back to it
          --cors-origin O   a browser origin allowed to call the HTTP endpoints (repeat; * for any);
                            default: any origin while bound to loopback, none otherwise
          --verbose         log requests and sessions
          --help            this text

        Control API (loopback only): GET /_sim/sessions, POST /_sim/sessions/{id}/drop,
        POST|GET|DELETE /_sim/faults, POST /_sim/sessions/{id}/faults, DELETE /_sim/faults/{id}.
        """;

    /// <summary>Runs the simulator until Ctrl+C or SIGTERM.</summary>
    /// <param name="args">Command-line arguments.</param>
    /// <returns>0 after a clean shutdown, 1 when it cannot start, 2 for bad arguments.</returns>
    public static async Task<int> Main(string[] args)
    {
        var options = new SimulatorOptions { Port = DefaultPort };
        for (int i = 0; i < args.Length; i++)
        {
            string arg = args[i];
            string? Value() => i + 1 < args.Length ? args[++i] : null;
            switch (arg)
            {
                case "--help" or "-h":
                    Console.WriteLine(Usage);
                    return 0;
                case "--port":
                    if (!int.TryParse(Value(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int port) || port > 65535)
                    {
                        return BadArguments("--port needs a number from 0 to 65535.");
                    }

                    options.Port = port;
                    break;
                case "--host":
                    var host = Value();
                    if (string.IsNullOrWhiteSpace(host))
                    {
                        return BadArguments("--host needs an address.");
                    }

                    options.Host = host;
                    break;
                case "--api-key":
                    var key = Value();
                    if (string.IsNullOrWhiteSpace(key))
                    {
                        return BadArguments("--api-key needs a value.");
                    }

                    options.ApiKeys.Add(key);
                    break;
                case "--scenario":
                    var file = Value();
                    if (string.IsNullOrWhiteSpace(file))
                    {
                        return BadArguments("--scenario needs a file.");
                    }

                    try
                    {
                        Scenario.Load(file).ApplyTo(options);
                    }
                    catch (ScenarioException ex)
                    {
                        Console.Error.WriteLine($"error: invalid scenario: {ex.Message}");
                        return 2;
                    }

                    break;
                case "--strict":
                    options.StrictConstraints = true;
                    break;
                case "--latency":
                    if (!int.TryParse(Value(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int latency) || latency > 60_000)
                    {
                        return BadArguments("--latency needs milliseconds from 0 to 60000.");
                    }

                    options.ProcessingLatency = TimeSpan.FromMilliseconds(latency);
                    break;
                case "--jitter":
                    if (!int.TryParse(Value(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int jitter) || jitter > 60_000)
                    {
                        return BadArguments("--jitter needs milliseconds from 0 to 60000.");
                    }

                    options.ProcessingJitter = TimeSpan.FromMilliseconds(jitter);
                    break;
                case "--model-mode":
                    switch (Value())
                    {
                        case "transform":
                            options.ModelMode = Model.ModelMode.Transform;
                            break;
                        case "echo":
                            options.ModelMode = Model.ModelMode.Echo;
                            break;
                        default:
                            return BadArguments("--model-mode needs 'transform' or 'echo'.");
                    }

                    break;
                case "--negotiation-timeout":
                    if (!int.TryParse(Value(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int negotiation) || negotiation > 3600)
                    {
                        return BadArguments("--negotiation-timeout needs seconds from 0 to 3600.");
                    }

                    options.NegotiationTimeout = TimeSpan.FromSeconds(negotiation);
                    break;
                case "--capacity":
                    if (!int.TryParse(Value(), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int capacity) || capacity is < 1 or > 100_000)
                    {
                        return BadArguments("--capacity needs a number of sessions from 1 to 100000.");
                    }

                    options.MaxConcurrentSessions = capacity;
                    break;
                case "--room-v0":
                    options.RoomSingleConnection = false;
                    break;
                case "--cors-origin":
                    var corsOrigin = Value();
                    if (string.IsNullOrWhiteSpace(corsOrigin) || (corsOrigin != "*" && !Uri.TryCreate(corsOrigin, UriKind.Absolute, out _)))
                    {
                        return BadArguments("--cors-origin needs an origin like http://localhost:5173, or *.");
                    }

                    options.CorsOrigins.Add(corsOrigin);
                    break;
                case "--record":
                    var dir = Value();
                    if (string.IsNullOrWhiteSpace(dir))
                    {
                        return BadArguments("--record needs a folder.");
                    }

                    options.RecordDirectory = dir;
                    break;
                case "--verbose":
                    options.LogLevel = Microsoft.Extensions.Logging.LogLevel.Information;
                    break;
                default:
                    return BadArguments($"unknown argument '{arg}'.");
            }
        }

        DecartSimulator simulator;
        try
        {
            simulator = await DecartSimulator.StartAsync(options);
        }
        catch (IOException ex)
        {
            Console.Error.WriteLine($"Decart simulator could not listen on {options.Host}:{options.Port}: {ex.Message}");
            return 1;
        }

        await using (simulator)
        {
            using var stop = new CancellationTokenSource();
            using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, ctx =>
            {
                ctx.Cancel = true;
                stop.Cancel();
            });
            Console.CancelKeyPress += (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };

            string baseUrl = simulator.BaseUrl.GetLeftPart(UriPartial.Authority);
            string realtimeBaseUrl = simulator.RealtimeBaseUrl.GetLeftPart(UriPartial.Authority);
            Console.WriteLine($"Decart simulator listening on {baseUrl}");
            Console.WriteLine($"Realtime: {realtimeBaseUrl}/v1/stream");
            Console.WriteLine($"DecartClientOptions: BaseUrl = new Uri(\"{baseUrl}\"), RealtimeBaseUrl = new Uri(\"{realtimeBaseUrl}\")");
            Console.WriteLine($"API key: {string.Join(", ", simulator.ApiKeys.Select(MaskKey))}");
            if (simulator.Faults.All.Count > 0)
            {
                Console.WriteLine($"Faults: {string.Join(", ", simulator.Faults.All.Select(f => $"{f.Id} {f.Type}"))}");
            }

            Console.WriteLine("Press Ctrl+C to stop.");
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException)
            {
            }

            Console.WriteLine("Decart simulator stopping.");
        }

        return 0;
    }

    /// <summary>
    /// How the banner shows a key: the built-in development key in full (it is public), a user's own key masked
    /// down to a short prefix so that a terminal log or a CI transcript never holds it.
    /// </summary>
    /// <param name="key">An accepted key.</param>
    /// <returns>The key as printed.</returns>
    internal static string MaskKey(string key) =>
        key == SimulatorOptions.DevelopmentKey ? key : $"{key[..Math.Min(4, key.Length / 4)]}*** ({key.Length} characters)";

    private static int BadArguments(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        Console.Error.WriteLine("Run with --help for usage.");
        return 2;
    }
}
