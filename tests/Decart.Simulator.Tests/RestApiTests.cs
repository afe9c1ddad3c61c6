using System.Buffers.Binary;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Decart.Simulator.Hosting;
using Microsoft.Extensions.Time.Testing;

namespace Decart.Simulator.Tests;

public sealed class RestApiTests : IAsyncLifetime
{
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 11, 25, 12, 0, 0, TimeSpan.Zero));
    private DecartSimulator _sim = null!;
    private HttpClient _http = null!;

    public async Task InitializeAsync()
    {
        _sim = await DecartSimulator.StartAsync(new SimulatorOptions
        {
            ApiKeys = ["sim_key_1", "sim_key_2"],
            TimeProvider = _time,
            JobPendingFor = TimeSpan.FromSeconds(2),
            JobProcessingFor = TimeSpan.FromSeconds(3),
            FailJobsForModels = ["lucy-motion"],
        });
        _http = new HttpClient { BaseAddress = _sim.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        _http.Dispose();
        await _sim.DisposeAsync();
    }

    private HttpRequestMessage Request(HttpMethod method, string path, string? key = "sim_key_1", HttpContent? content = null)
    {
        var request = new HttpRequestMessage(method, path) { Content = content };
        if (key is not null)
        {
            request.Headers.Add("X-API-KEY", key);
        }

        return request;
    }

    private static MultipartFormDataContent Form(string? prompt = null, bool data = false, bool reference = false, params (string Name, string Value)[] extra)
    {
        var form = new MultipartFormDataContent();
        if (prompt is not null)
        {
            form.Add(new StringContent(prompt), "prompt");
        }

        if (data)
        {
            form.Add(new ByteArrayContent([1, 2, 3, 4]), "data", "in.mp4");
        }

        if (reference)
        {
            form.Add(new ByteArrayContent([9, 9, 9]), "reference_image", "ref.png");
        }

        foreach (var (name, value) in extra)
        {
            form.Add(new StringContent(value), name);
        }

        return form;
    }

    private static async Task<JsonElement> Json(HttpResponseMessage response) => JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    [Fact]
    public async Task Tokens_are_issued_with_expiry_permissions_and_constraints()
    {
        var body = JsonContent.Create(new { expiresIn = 120, allowedModels = new[] { "lucy-2.1" }, allowedOrigins = new[] { "https://example.com" }, constraints = new { realtime = new { maxSessionDuration = 30 } }, metadata = new { role = "viewer" } });
        using var response = await _http.SendAsync(Request(HttpMethod.Post, "/v1/client/tokens", content: body));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var json = await Json(response);
        var key = json.GetProperty("apiKey").GetString()!;
        Assert.StartsWith("ek_", key, StringComparison.Ordinal);
        Assert.Equal(_time.GetUtcNow().AddSeconds(120), json.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.Equal("lucy-2.1", json.GetProperty("permissions").GetProperty("models")[0].GetString());
        Assert.Equal(30, json.GetProperty("constraints").GetProperty("realtime").GetProperty("maxSessionDuration").GetInt32());
        var issued = _sim.Tokens.Find(key)!;
        Assert.Equal(TimeSpan.FromSeconds(30), issued.MaxSessionDuration);
        Assert.Equal(["https://example.com"], issued.AllowedOrigins);
    }

    [Fact]
    public async Task Token_without_body_gets_the_60_second_default_and_no_permissions()
    {
        using var response = await _http.SendAsync(Request(HttpMethod.Post, "/v1/client/tokens"));
        var json = await Json(response);
        Assert.Equal(_time.GetUtcNow().AddSeconds(60), json.GetProperty("expiresAt").GetDateTimeOffset());
        Assert.False(json.TryGetProperty("permissions", out _));
        Assert.False(json.TryGetProperty("constraints", out _));
    }

    [Theory]
    [InlineData("{", null)]
    [InlineData("[1]", null)]
    [InlineData("""{"expiresIn":0}""", "expiresIn")]
    [InlineData("""{"expiresIn":3601}""", "expiresIn")]
    [InlineData("""{"expiresIn":"soon"}""", "expiresIn")]
    [InlineData("""{"allowedOrigins":["https://example.com/path"]}""", "allowedOrigins")]
    [InlineData("""{"allowedOrigins":["example.com"]}""", "allowedOrigins")]
    [InlineData("""{"allowedModels":"lucy-2.1"}""", "allowedModels")]
    [InlineData("""{"allowedModels":["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q","r","s","t","u"]}""", "allowedModels")]
    [InlineData("""{"constraints":{"realtime":{"maxSessionDuration":0}}}""", "constraints.realtime.maxSessionDuration")]
    [InlineData("""{"metadata":"x"}""", "metadata")]
    public async Task Bad_token_bodies_are_400_naming_the_field(string body, string? field)
    {
        using var response = await _http.SendAsync(Request(HttpMethod.Post, "/v1/client/tokens", content: new StringContent(body, Encoding.UTF8, "application/json")));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var json = await Json(response);
        Assert.False(string.IsNullOrEmpty(json.GetProperty("error").GetString()));
        if (field is not null)
        {
            Assert.Equal(field, json.GetProperty("field").GetString());
        }
    }

    [Fact]
    public async Task Missing_wrong_and_token_keys_cannot_create_tokens()
    {
        using var missing = await _http.SendAsync(Request(HttpMethod.Post, "/v1/client/tokens", key: null));
        using var wrong = await _http.SendAsync(Request(HttpMethod.Post, "/v1/client/tokens", key: "nope"));
        var token = _sim.Tokens.Issue(TimeSpan.FromMinutes(1), null, null, null);
        using var byToken = await _http.SendAsync(Request(HttpMethod.Post, "/v1/client/tokens", key: token.Key));
        foreach (var r in new[] { missing, wrong, byToken })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, r.StatusCode);
            var text = await r.Content.ReadAsStringAsync();
            Assert.DoesNotContain("nope", text, StringComparison.Ordinal);
            Assert.DoesNotContain(token.Key, text, StringComparison.Ordinal);
            Assert.True((await Json(r)).TryGetProperty("error", out _));
        }
    }

    [Fact]
    public async Task Generate_returns_a_valid_deterministic_png_of_the_models_size()
    {
        async Task<byte[]> Generate(string prompt)
        {
            using var response = await _http.SendAsync(Request(HttpMethod.Post, "/v1/generate/lucy-pro-i2i", content: Form(prompt, data: true, extra: ("seed", "42"))));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("image/png", response.Content.Headers.ContentType!.MediaType);
            return await response.Content.ReadAsByteArrayAsync();
        }

        var a = await Generate("Anime");
        var b = await Generate("Anime");
        var c = await Generate("Watercolor");
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
        Assert.Equal(new byte[] { 0x89, 0x50, 0x4E, 0x47 }, a[..4]);
        Assert.Equal(1280, BinaryPrimitives.ReadInt32BigEndian(a.AsSpan(16)));
        Assert.Equal(704, BinaryPrimitives.ReadInt32BigEndian(a.AsSpan(20)));
        PngAssert.ChunksAreValid(a);
    }

    public static TheoryData<string, Func<MultipartFormDataContent>, string> BadInputs() => new()
    {
        { "lucy-pro-i2i", () => Form(null, data: true), "prompt" },
        { "lucy-pro-i2i", () => Form(new string('p', 1001), data: true), "prompt" },
        { "lucy-pro-i2i", () => Form("x"), "data" },
        { "lucy-pro-i2i", () => Form("x", data: true, extra: ("resolution", "4k")), "resolution" },
        { "lucy-pro-i2i", () => Form("x", data: true, extra: ("seed", "abc")), "seed" },
        { "lucy-pro-i2i", () => Form("x", data: true, extra: ("enhance_prompt", "maybe")), "enhance_prompt" },
        { "lucy-pro-t2i", () => Form("   "), "prompt" },
    };

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Invalid_generate_inputs_are_400_naming_the_field(string model, Func<MultipartFormDataContent> form, string field)
    {
        using var response = await _http.SendAsync(Request(HttpMethod.Post, $"/v1/generate/{model}", content: form()));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(field, (await Json(response)).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Non_multipart_and_empty_files_are_400()
    {
        using var json = await _http.SendAsync(Request(HttpMethod.Post, "/v1/generate/lucy-pro-i2i", content: new StringContent("{}", Encoding.UTF8, "application/json")));
        Assert.Equal(HttpStatusCode.BadRequest, json.StatusCode);
        var form = Form("x");
        form.Add(new ByteArrayContent([]), "data", "empty.png");
        using var empty = await _http.SendAsync(Request(HttpMethod.Post, "/v1/generate/lucy-pro-i2i", content: form));
        Assert.Equal(HttpStatusCode.BadRequest, empty.StatusCode);
        Assert.Equal("data", (await Json(empty)).GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("/v1/generate/lucy-nonexistent")]
    [InlineData("/v1/jobs/lucy-nonexistent")]
    [InlineData("/v1/generate/lucy-2.1")] // a realtime/video model has no synchronous generate
    public async Task Unknown_models_are_404(string path)
    {
        using var response = await _http.SendAsync(Request(HttpMethod.Post, path, content: Form("x", data: true)));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("not found", (await Json(response)).GetProperty("error").GetString()!, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Jobs_move_pending_processing_completed_on_the_clock()
    {
        using var submit = await _http.SendAsync(Request(HttpMethod.Post, "/v1/jobs/lucy-pro-v2v", content: Form("Anime", data: true)));
        var json = await Json(submit);
        var id = json.GetProperty("job_id").GetString()!;
        Assert.Equal("pending", json.GetProperty("status").GetString());

        async Task<string> Status()
        {
            using var r = await _http.SendAsync(Request(HttpMethod.Get, $"/v1/jobs/{id}"));
            return (await Json(r)).GetProperty("status").GetString()!;
        }

        using (var early = await _http.SendAsync(Request(HttpMethod.Get, $"/v1/jobs/{id}/content")))
        {
            Assert.Equal(HttpStatusCode.Conflict, early.StatusCode);
        }

        _time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal("processing", await Status());
        _time.Advance(TimeSpan.FromSeconds(3));
        Assert.Equal("completed", await Status());
        using var content = await _http.SendAsync(Request(HttpMethod.Get, $"/v1/jobs/{id}/content"));
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal("video/mp4", content.Content.Headers.ContentType!.MediaType);
        var bytes = await content.Content.ReadAsByteArrayAsync();
        Assert.Equal("ftyp", Encoding.ASCII.GetString(bytes, 4, 4));
    }

    [Fact]
    public async Task Configured_models_fail_and_have_no_content()
    {
        var form = new MultipartFormDataContent { { new ByteArrayContent([1]), "data", "in.png" } };
        using var submit = await _http.SendAsync(Request(HttpMethod.Post, "/v1/jobs/lucy-motion", content: form));
        var id = (await Json(submit)).GetProperty("job_id").GetString()!;
        _time.Advance(TimeSpan.FromSeconds(10));
        using var status = await _http.SendAsync(Request(HttpMethod.Get, $"/v1/jobs/{id}"));
        Assert.Equal("failed", (await Json(status)).GetProperty("status").GetString());
        using var content = await _http.SendAsync(Request(HttpMethod.Get, $"/v1/jobs/{id}/content"));
        Assert.Equal(HttpStatusCode.Conflict, content.StatusCode);
    }

    [Fact]
    public async Task Unknown_jobs_are_404()
    {
        using var status = await _http.SendAsync(Request(HttpMethod.Get, "/v1/jobs/job_missing"));
        using var content = await _http.SendAsync(Request(HttpMethod.Get, "/v1/jobs/job_missing/content"));
        Assert.Equal(HttpStatusCode.NotFound, status.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, content.StatusCode);
    }

    [Theory]
    [InlineData(true, false, false, 200)]
    [InlineData(false, true, false, 200)]
    [InlineData(true, true, false, 400)]   // both
    [InlineData(false, false, false, 400)] // neither
    [InlineData(false, true, true, 400)]   // enhance_prompt with reference_image
    public async Task Restyle_takes_exactly_one_of_prompt_or_reference_image(bool prompt, bool reference, bool enhance, int expected)
    {
        var form = Form(prompt ? "Anime" : null, data: true, reference: reference, extra: enhance ? [("enhance_prompt", "true")] : []);
        using var response = await _http.SendAsync(Request(HttpMethod.Post, "/v1/jobs/lucy-restyle-v2v", content: form));
        Assert.Equal(expected, (int)response.StatusCode);
    }

    [Fact]
    public async Task Client_tokens_work_until_they_expire_and_only_for_their_models()
    {
        var token = _sim.Tokens.Issue(TimeSpan.FromSeconds(30), ["lucy-pro-t2i"], null, null);
        using (var ok = await _http.SendAsync(Request(HttpMethod.Post, "/v1/generate/lucy-pro-t2i", token.Key, Form("cat"))))
        {
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var otherModel = await _http.SendAsync(Request(HttpMethod.Post, "/v1/generate/lucy-pro-i2i", token.Key, Form("cat", data: true))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, otherModel.StatusCode);
        }

        _time.Advance(TimeSpan.FromSeconds(31));
        using var expired = await _http.SendAsync(Request(HttpMethod.Post, "/v1/generate/lucy-pro-t2i", token.Key, Form("cat")));
        Assert.Equal(HttpStatusCode.Unauthorized, expired.StatusCode);
        Assert.Contains("expired", (await Json(expired)).GetProperty("error").GetString()!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversized_bodies_are_413()
    {
        await using var small = await DecartSimulator.StartAsync(new SimulatorOptions { MaxRequestBytes = 10_000 });
        using var http = new HttpClient { BaseAddress = small.BaseUrl };
        var form = Form("x");
        form.Add(new ByteArrayContent(new byte[50_000]), "data", "big.png");
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/generate/lucy-pro-i2i") { Content = form };
        request.Headers.Add("X-API-KEY", small.DefaultApiKey);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
    }
}

internal static class PngAssert
{
    public static void ChunksAreValid(byte[] png)
    {
        int offset = 8;
        var types = new List<string>();
        while (offset < png.Length)
        {
            int length = BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(offset));
            types.Add(Encoding.ASCII.GetString(png, offset + 4, 4));
            uint expected = BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan(offset + 8 + length));
            uint crc = 0xFFFFFFFF;
            foreach (byte b in png.AsSpan(offset + 4, length + 4))
            {
                crc ^= b;
                for (int k = 0; k < 8; k++)
                {
                    crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB88320 : crc >> 1;
                }
            }

            Assert.Equal(expected, ~crc);
            offset += 12 + length;
        }

        Assert.Equal(["IHDR", "IDAT", "IEND"], types);
    }
}
