// Starts one real Elasticsearch node in this JVM from the jars that Maven Central publishes.
//
// The official distribution's launcher (server-cli + entitlement agent) is not published to
// Maven Central, so this does what its server bootstrap does minus entitlements/natives: read
// config/elasticsearch.yml, configure logging, load the modules directory (transport-netty4 for
// HTTP), then construct and start org.elasticsearch.node.Node. Everything that answers HTTP
// requests is unmodified Elasticsearch code.
//
// Usage: java --module-path <home>/lib --add-modules ALL-MODULE-PATH -cp <classes> LocalNode <home> <config dir>

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

public final class LocalNode {
    private LocalNode() {}

    public static void main(String[] args) throws Exception {
        if (args.length != 2) {
            System.err.println("usage: LocalNode <elasticsearch home: lib/ modules/ plugins/> <config directory>");
            System.exit(2);
        }
        // As the server bootstrap does first: route Elasticsearch's logging API to log4j.
        LogConfigurator.configureESLogging();
        LogConfigurator.registerErrorListener();
        Path home = Path.of(args[0]).toAbsolutePath();
        Path configDir = Path.of(args[1]).toAbsolutePath();
        Settings settings = Settings.builder()
            .loadFromPath(configDir.resolve("elasticsearch.yml"))
            .put("path.home", home.toString())
            .build();
        Environment environment = new Environment(settings, configDir);

        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(settings));
        LogConfigurator.configure(environment, true);

        // "false": a stateful (not serverless/stateless) node, as the tarball distribution runs.
        var modules = PluginsLoader.loadModulesBundles(environment.modulesDir(), false);
        var plugins = PluginsLoader.loadPluginsBundles(environment.pluginsDir(), false);
        PluginsLoader pluginsLoader = PluginsLoader.createPluginsLoader(modules, plugins, Map.of());

        Node node = new Node(environment, pluginsLoader);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "local-node-shutdown"));
        try {
            node.start();
        } catch (Throwable startupFailure) {
            // e.g. the HTTP port is taken: exit non-zero (the shutdown hook closes the node).
            startupFailure.printStackTrace();
            System.exit(1);
        }
        // Keep a non-daemon thread alive until SIGTERM/SIGINT runs the shutdown hook.
        stopped.await();
    }
}
