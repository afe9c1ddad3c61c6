using Decart.Simulator.Hosting;

namespace Decart.Simulator;

/// <summary>Command line: <c>dotnet run --project src/Decart.Simulator -- --port 7777 --api-key sim_test_key</c>.</summary>
public static class Program
{
    /// <summary>The port used when none is given.</summary>
    public const int DefaultPort = 7777;

    private const string Usage = """
        Decart simulator: a local fake Decart server for integration tests.

        Usage: Decart.Simulator [--port N] [--host ADDRESS] [--api-key KEY]... [--verbose]

          --port N          port to listen on (default 7777; 0 picks a free port)
          --host ADDRESS    address to bind (default 127.0.0.1, loopback only)
          --api-key KEY     an API key to accept (repeatable; default: sim_dev_key)
          --verbose         log requests and sessions
          --help            this text
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

            Console.WriteLine($"Decart simulator listening on {simulator.BaseUrl.GetLeftPart(UriPartial.Authority)}");
            Console.WriteLine($"Realtime: {simulator.RealtimeBaseUrl.GetLeftPart(UriPartial.Authority)}/v1/stream");
            Console.WriteLine($"API key: {string.Join(", ", simulator.ApiKeys)}");
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

    private static int BadArguments(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        Console.Error.WriteLine("Run with --help for usage.");
        return 2;
    }
}
