using System.Text.Json.Nodes;

namespace Multicast.Core.Config;

/// <summary>
/// Read-modify-write of a config file under an exclusive advisory lock on "&lt;file&gt;.lock", so concurrent admin
/// commands never lose an update; the write itself is atomic (<see cref="ConfigFile.SaveAtomically"/>), so a crash
/// at any moment leaves a complete file.
/// </summary>
public static class ConfigStore
{
    public static TResult Update<TConfig, TResult>(string path, Func<JsonNode, string, TConfig> parse, TConfig empty,
        Func<TConfig, (TConfig Next, TResult Result)> change, Func<TConfig, JsonNode> toJson)
    {
        using FileStream lockFile = Lock(path);
        TConfig current = File.Exists(path) ? ConfigFile.Load(path, parse) : empty;
        (TConfig next, TResult result) = change(current);
        if (!ReferenceEquals(next, current)) ConfigFile.SaveAtomically(path, toJson(next));
        return result;
    }

    private static FileStream Lock(string path)
    {
        string lockPath = path + ".lock";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(lockPath))!);
        DateTime deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            try
            {
                // On Unix, FileShare.None takes flock(LOCK_EX|LOCK_NB) on the descriptor.
                return new FileStream(lockPath, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(5);
            }
            catch (IOException)
            {
                throw new ConfigException($"{path}: another command has held the config lock for 30 s");
            }
            catch (UnauthorizedAccessException)
            {
                throw new ConfigException($"{lockPath}: permission denied (run as root)");
            }
        }
    }
}
