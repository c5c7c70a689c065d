using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Multicast.Core.Packets;

namespace Multicast.Core.Config;

/// <summary>Reading and writing the JSON config files: lenient syntax (the seed's trailing commas), strict values.</summary>
public static class ConfigFile
{
    private static readonly JsonDocumentOptions Lenient = new()
    {
        AllowTrailingCommas = true,
        CommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>
    /// The directory every tool reads its files from: $MULTICAST_CONFIG_DIR, else /etc/multicast, or on Windows
    /// C:\udptopoint (where the original service kept server_cfg.json.txt and server_log.txt).
    /// </summary>
    public static string Directory =>
        Environment.GetEnvironmentVariable("MULTICAST_CONFIG_DIR") is { Length: > 0 } dir ? dir
        : OperatingSystem.IsWindows() ? @"C:\udptopoint" : "/etc/multicast";

    public static T Load<T>(string path, Func<JsonNode, string, T> parse)
    {
        string text;
        try { text = File.ReadAllText(path); }
        catch (FileNotFoundException) { throw new ConfigException($"{path}: file not found"); }
        catch (DirectoryNotFoundException) { throw new ConfigException($"{path}: directory not found"); }
        catch (UnauthorizedAccessException) { throw new ConfigException($"{path}: permission denied"); }
        catch (IOException e) { throw new ConfigException($"{path}: {e.Message}"); }
        return ParseText(text, path, parse);
    }

    public static T ParseText<T>(string text, string source, Func<JsonNode, string, T> parse)
    {
        JsonNode? root;
        try { root = JsonNode.Parse(text, documentOptions: Lenient); }
        catch (JsonException e)
        {
            long line = (e.LineNumber ?? 0) + 1, col = (e.BytePositionInLine ?? 0) + 1;
            throw new ConfigException($"{source}: broken JSON at line {line}, column {col}");
        }
        if (root is null) throw new ConfigException($"{source}: empty document");
        try { return parse(root, source); }
        catch (ConfigException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
        {
            // Whole-config checks (duplicates, member vs group) run in constructors that do not know the file.
            throw new ConfigException($"{source}: {e.Message}", e);
        }
    }

    public static JsonArray RequiredArray(JsonNode root, string key, string source)
    {
        if (root is not JsonObject obj) throw new ConfigException($"{source}: the top level must be an object");
        if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null) return new JsonArray();
        return node as JsonArray ?? throw new ConfigException($"{source}: {key} must be an array");
    }

    public static uint RequiredAddress(JsonObject obj, string key, string where)
    {
        if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null)
            throw new ConfigException($"{where}: {key} is missing");
        return Address(node, where, key);
    }

    public static uint Address(JsonNode? node, string where, string what)
    {
        string? text = node is JsonValue v && v.TryGetValue(out string? s) ? s : null;
        if (text is null || !IpAddressV4.TryParse(text.Trim(), out uint address))
            throw new ConfigException($"{where}: {what} {node?.ToJsonString() ?? "null"} is not a dotted-quad IPv4 address");
        return address;
    }

    /// <summary>A port given as a number or a numeric string (the kernel generator writes strings); absent = 0.</summary>
    public static ushort OptionalPort(JsonObject obj, string key, string where)
    {
        if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null) return 0;
        long value;
        if (node is JsonValue v && v.TryGetValue(out long n)) value = n;
        else if (node is JsonValue s && s.TryGetValue(out string? str) &&
                 long.TryParse(str, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed)) value = parsed;
        else throw new ConfigException($"{where}: {key} {node.ToJsonString()} is not a port number");
        if (value < 0 || value > 65535) throw new ConfigException($"{where}: {key} {value} is outside 0..65535");
        return (ushort)value;
    }

    public static int OptionalLimit(JsonObject obj, string key, int fallback, string source)
    {
        if (!obj.TryGetPropertyValue(key, out JsonNode? node) || node is null) return fallback;
        if (node is JsonValue v && v.TryGetValue(out int n) && n > 0) return n;
        throw new ConfigException($"{source}: {key} {node.ToJsonString()} is not a positive whole number");
    }

    /// <summary>
    /// Writes a config so that a crash at any moment leaves either the old or the new file, never a torn one:
    /// temp file in the same directory, fsync, rename over, fsync the directory.
    /// </summary>
    /// <param name="durable">
    /// False skips both fsyncs: readers still never see a torn file (the rename is atomic), but a power loss may
    /// bring back the previous one. For the once-a-second stats file, where two fsyncs per daemon per second were
    /// disk work on the host the receivers run on, for nothing the next second would not rewrite.
    /// </param>
    public static void SaveAtomically(string path, JsonNode content, bool durable = true) =>
        SaveAtomically(path, Encoding.UTF8.GetBytes(content.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n"), durable);

    /// <summary>Replaces <paramref name="path"/> with <paramref name="utf8"/>: a temporary file renamed over it.</summary>
    public static void SaveAtomically(string path, ReadOnlySpan<byte> utf8, bool durable = true)
    {
        string full = Path.GetFullPath(path);
        string dir = Path.GetDirectoryName(full)!;
        System.IO.Directory.CreateDirectory(dir);
        string temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        using (var fs = new FileStream(temp, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            fs.Write(utf8);
            fs.Flush(flushToDisk: durable);
        }
        File.Move(temp, full, overwrite: true);
        if (durable) FsyncDirectory(dir);
    }

    private static void FsyncDirectory(string dir)
    {
        try
        {
            using var handle = File.OpenHandle(dir, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, FileOptions.None);
            RandomAccess.FlushToDisk(handle);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Directories cannot be opened as files on every platform; the rename itself is still atomic.
        }
    }
}
