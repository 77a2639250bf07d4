# Builds lazydir and runs it; the fanotify daemon (coming) will need --cap-add SYS_ADMIN and a bind mount.
FROM maven:3.9-eclipse-temurin-17 AS build
WORKDIR /src
COPY pom.xml .
RUN mvn -q -B dependency:go-offline
COPY src src
RUN mvn -q -B -DskipTests package

FROM eclipse-temurin:17-jre
# serve needs: --cap-add SYS_ADMIN (fanotify, mounts) and a host kernel with pre-content events (6.14+)
COPY --from=build /src/target/lazydir.jar /opt/lazydir/lazydir.jar
ENV LC_ALL=C.UTF-8
COPY lazydir /opt/lazydir/lazydir
ENV LAZYDIR_JAR=/opt/lazydir/lazydir.jar
ENTRYPOINT ["/opt/lazydir/lazydir"]
