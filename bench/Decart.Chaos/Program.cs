using System.Globalization;
using Decart.Chaos;

// Usage:
//   dotnet run -c Release --project bench/Decart.Chaos               short mode (what CI runs, ≈ 2 minutes)
//   dotnet run -c Release --project bench/Decart.Chaos -- --long     10-minute soak of 30 sessions, ceiling sweep 50..300
//   … -- --long --soak-minutes 3 --soak-sessions 20 --sweep 50,100,150
// Prints a held/degraded/broke table; exits 1 when anything broke.
bool isLong = args.Contains("--long");
string? Arg(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
var options = new CampaignOptions
{
    Long = isLong,
    SoakSessions = int.Parse(Arg("--soak-sessions") ?? (isLong ? "30" : "6"), CultureInfo.InvariantCulture),
    SoakDuration = TimeSpan.FromMinutes(double.Parse(Arg("--soak-minutes") ?? (isLong ? "10" : "0.5"), CultureInfo.InvariantCulture)),
    Sweep = (Arg("--sweep") ?? (isLong ? "50,100,150,200,300" : string.Empty)).Split(',', StringSplitOptions.RemoveEmptyEntries).Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(),
};
Console.WriteLine($"Decart chaos campaign, {(isLong ? "long" : "short")} mode, {Environment.ProcessorCount} cores");
var results = await new Campaign(options).RunAsync();
Console.WriteLine();
Console.WriteLine("| verdict | area | check | detail |");
Console.WriteLine("| --- | --- | --- | --- |");
foreach (var r in results)
{
    Console.WriteLine($"| {r.Verdict.ToString().ToLowerInvariant()} | {r.Area} | {r.Check} | {r.Detail} |");
}

int broke = results.Count(r => r.Verdict == Verdict.Broke);
Console.WriteLine($"\n{results.Count(r => r.Verdict == Verdict.Held)} held, {results.Count(r => r.Verdict == Verdict.Degraded)} degraded, {broke} broke");
return broke == 0 ? 0 : 1;
