# Single-node Elasticsearch for the real-node cluster tests: the node that
# scripts/elasticsearch-local.sh assembles from Maven Central (server jars, transport-netty4,
# the LocalNode launcher) on the runtime of the JDK that compiled the launcher, over the
# local Debian minbase (scripts/build-base-images.sh). Built by elasticsearch-image.sh, which
# stages the context: jre/ home/ launcher/ config/. Security (X-Pack) is not in the Maven
# build: plain HTTP, no authentication (see tests/cluster/README.md).
ARG BASE=local/debian:trixie-minbase
FROM ${BASE}
COPY jre/ /opt/java/
COPY home/ /usr/share/elasticsearch/
COPY launcher/ /usr/share/elasticsearch/launcher/
COPY config/ /usr/share/elasticsearch/config/
# uid/gid 1000 like the official image; data is a volume, everything else stays read-only.
RUN mkdir -p /usr/share/elasticsearch/data && chown 1000:1000 /usr/share/elasticsearch/data
USER 1000:1000
WORKDIR /usr/share/elasticsearch
# The java launcher reads JDK_JAVA_OPTIONS: the heap is set per deployment (manifest env).
ENV JDK_JAVA_OPTIONS="-Xms256m -Xmx256m"
EXPOSE 9200
VOLUME ["/usr/share/elasticsearch/data"]
# The flags of scripts/elasticsearch-local.sh start; /tmp is the pod's writable scratch space.
ENTRYPOINT ["/opt/java/bin/java", "-XX:+UseG1GC", "-XX:+ExitOnOutOfMemoryError", \
  "-XX:MaxDirectMemorySize=128m", "-Djava.io.tmpdir=/tmp", "-Des.path.home=/usr/share/elasticsearch", \
  "-Dlog4j2.formatMsgNoLookups=true", "-Dlog4j.shutdownHookEnabled=false", "-Dlog4j2.disable.jmx=true", \
  "-Dfile.encoding=UTF-8", "-Dio.netty.noUnsafe=true", "-Dio.netty.noKeySetOptimization=true", \
  "-Dio.netty.recycler.maxCapacityPerThread=0", "--add-modules", "jdk.incubator.vector", \
  "--enable-native-access=org.apache.lucene.core,org.elasticsearch.nativeaccess", \
  "--module-path", "/usr/share/elasticsearch/lib", "--add-modules", "ALL-MODULE-PATH", \
  "-cp", "/usr/share/elasticsearch/launcher", "LocalNode", "/usr/share/elasticsearch", "/usr/share/elasticsearch/config"]
