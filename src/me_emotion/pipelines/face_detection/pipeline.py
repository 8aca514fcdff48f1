"""Face detection: sampled frames -> face boxes, rejects, 256x256 CLAHE crops, contact sheet.

Built once; ``pipeline_registry`` instantiates it per dataset with
``namespace="casme2"`` / ``"samm"`` (``params:casme2.face_detection``,
``casme2.face_crops``, ...). The flow frames (onset, apex) are cut with the
same face box as the clip's sampled frames (``flow_crops``).
"""

from kedro.pipeline import Node, Pipeline

from .nodes import crop_faces, detect_faces, draw_contact_sheet


def create_pipeline(**kwargs) -> Pipeline:
    return Pipeline(
        [
            Node(
                func=detect_faces,
                inputs=[
                    "clip_index",
                    "sampled_frames",
                    "haar_cascade",
                    "params:face_detection",
                ],
                outputs=["face_boxes", "face_rejects"],
                name="detect_faces",
            ),
            Node(
                func=crop_faces,
                inputs=["sampled_frames", "face_boxes", "params:face_detection"],
                outputs="face_crops",
                name="crop_faces",
            ),
            Node(
                func=crop_faces,
                inputs=["flow_frames", "face_boxes", "params:face_detection"],
                outputs="flow_crops",
                name="crop_flow_frames",
            ),
            Node(
                func=draw_contact_sheet,
                inputs=[
                    "face_crops",
                    "face_boxes",
                    "face_rejects",
                    "params:face_detection",
                ],
                outputs="face_contact_sheet",
                name="draw_contact_sheet",
            ),
        ]
    )
