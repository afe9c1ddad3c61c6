#!/usr/bin/env bash
# Analyzer cost on a large project: generates N files that use the realtime SDK (each a realistic session method,
# some breaking rules), builds it with -p:ReportAnalyzer=true, and reports the Decart analyzers' time against the
# whole compile (the Csc task). Usage: bench/analyzer-speed.sh [files=1000] [dense|mixed]
#   dense: every file runs a realtime session (a worst case); mixed: one file in ten does, the rest is ordinary
#   application code (services with LINQ, strings, records) that only touches the SDK's REST options.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
files=${1:-1000}
mode=${2:-dense}
dotnet build src/Decart.Sdk -c Release -nologo -v q -clp:ErrorsOnly >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/gen"
cat > "$work/gen/Gen.csproj" <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <NoWarn>\$(NoWarn);CS1998</NoWarn>
  </PropertyGroup>
  <ItemGroup>
    <ProjectReference Include="$root/src/Decart.Sdk/Decart.Sdk.csproj" />
    <Analyzer Include="$root/src/Decart.Analyzers/bin/Release/netstandard2.0/Decart.Analyzers.dll" />
  </ItemGroup>
</Project>
XML
for i in $(seq 1 "$files"); do
  if [ "$mode" = "mixed" ] && [ $((i % 10)) -ne 0 ]; then
  cat > "$work/gen/File$i.cs" <<CS
using Decart.Sdk;

namespace Gen;

public sealed record Order$i(int Id, string Customer, decimal Amount, DateTime At);

public sealed class Service$i
{
    private readonly List<Order$i> _orders = [];

    public DecartClientOptions Options(string key) => new() { ApiKey = key, Timeout = TimeSpan.FromSeconds($i % 60 + 1) };

    public void Add(int id, string customer, decimal amount) => _orders.Add(new Order$i(id, customer.Trim(), amount, DateTime.UtcNow));

    public IEnumerable<(string Customer, decimal Total)> Totals() =>
        _orders.GroupBy(o => o.Customer).Select(g => (g.Key, g.Sum(o => o.Amount))).OrderByDescending(t => t.Item2);

    public string Report()
    {
        var sb = new System.Text.StringBuilder();
        foreach (var (customer, total) in Totals())
        {
            sb.Append(customer).Append(": ").AppendLine(total.ToString("F2"));
        }

        return sb.ToString();
    }
}
CS
  continue
  fi
  cat > "$work/gen/File$i.cs" <<CS
using Decart.Sdk;
using Decart.Sdk.Media;
using Decart.Sdk.Models;
using Decart.Sdk.Realtime;

namespace Gen;

public sealed class Session$i
{
    private readonly DecartClient _client = new(new DecartClientOptions { ApiKey = Environment.GetEnvironmentVariable("DECART_API_KEY") });

    public async Task RunAsync(IVideoSource camera, string[] prompts, byte[] image, CancellationToken ct)
    {
        await using var rt = await _client.Realtime.ConnectAsync(camera, new RealtimeConnectOptions { Model = RealtimeModels.Lucy21, OnError = e => Console.WriteLine(e.Code), OnConnectionChanged = s => Console.WriteLine(s) }, ct);
        foreach (var prompt in prompts)
        {
            if (prompt.Length > 3)
            {
                await rt.SetAsync(new RealtimeState { Prompt = prompt, Image = ImageInput.FromBytes(image) }, ct);
            }
        }

        await rt.SetPromptAsync("a lighthouse at dusk, oil on canvas", true, ct);
        var total = prompts.Sum(p => p.Length) + $i;
        Console.WriteLine(total);
    }
}
CS
done
dotnet build "$work/gen/Gen.csproj" -c Release -nologo -v q -clp:ErrorsOnly >/dev/null   # restore, build the SDK, warm up
touch "$work"/gen/*.cs
out=$(dotnet build "$work/gen/Gen.csproj" -c Release -nologo --no-dependencies ${ANALYZER_SPEED_BUILD_ARGS:-} -p:ReportAnalyzer=true -v:d -clp:PerformanceSummary 2>&1 || true)
echo "$out" > /tmp/analyzer-speed.log
echo "$out" | grep -E "Total analyzer execution time|^\s+[0-9.]+\s+[<0-9]+\s+Decart\.Analyzers" | sed 's/^ *//' || true
csc=$(echo "$out" | grep -E "^\s+[0-9]+ ms\s+Csc\s" | awk '{print $1}' | sed -n 1p || true)
decart=$(echo "$out" | grep -E "^\s*[0-9.]+\s+[<0-9]+\s+Decart\.Analyzers," | awk '{s+=$1} END {print s+0}')
echo "files: $files ($mode); Csc task: ${csc} ms; Decart analyzers: ${decart} s"
if [ -n "$csc" ] && [ "$csc" -gt 0 ]; then
  awk -v d="$decart" -v c="$csc" 'BEGIN { printf "Decart analyzers = %.2f %% of the compile\n", d * 1000 / c * 100 }'
fi
